"""A request as a curl command someone can paste, with credentials redacted."""

from __future__ import annotations

import shlex

import httpx

from specs.redact import Redactor, redact_header, redact_url

_SKIP = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"})
_MAX_BODY = 4000


def to_curl(request: httpx.Request, redact: Redactor) -> str:
    parts = ["curl", "-X", request.method, shlex.quote(redact_url(str(request.url)))]
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() in _SKIP:
            continue
        parts += ["-H", shlex.quote(f"{name}: {redact_header(name, value)}")]
    body = request.content
    if body:
        text = body.decode("utf-8", errors="replace")
        parts += ["--data-binary", shlex.quote(redact.excerpt(text, _MAX_BODY))]
    return redact(" ".join(parts))
