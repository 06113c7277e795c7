"""A request as a curl command someone can paste, with credentials redacted."""

from __future__ import annotations

import shlex

import httpx

from .redact import Redactor

_SKIP = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"})
_MAX_BODY = 4000


def to_curl(request: httpx.Request, redact: Redactor) -> str:
    parts = ["curl", "-X", request.method, shlex.quote(str(request.url))]
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() in _SKIP:
            continue
        if name.lower() in ("authorization", "api-key"):
            scheme, sep, _ = value.partition(" ")
            value = f"{scheme} [REDACTED]" if sep else "[REDACTED]"
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = request.content
    if body:
        text = body.decode("utf-8", errors="replace")
        if len(text) > _MAX_BODY:
            text = text[:_MAX_BODY] + "…(truncated)"
        parts += ["--data-binary", shlex.quote(text)]
    return redact(" ".join(parts))
