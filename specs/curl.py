"""A request as one curl command someone can paste: the suite's evidence, Schemathesis'
cases and the proxy's violations all build it here.

Credentials are redacted by name (the schemes' headers, credential-looking query parameters)
and by value (every key the `Redactor` knows), a JSON body after parsing so that no escape
hides a key; the URL and the body are cut to a bound, so a record never holds a whole 60 KB
path; every part is shell-quoted, so no byte of it runs anything when pasted."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from .redact import Redactor, redact_header, redact_url
from .text import shorten

# Headers a reader does not need to reproduce the request.
NOISE = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"})
BODY_LIMIT = 4000
URL_LIMIT = 2000


def curl_line(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes | str | None,
    redact: Redactor,
) -> str:
    """The curl command for this request, redacted and bounded."""
    parts = ["curl", "-X", shlex.quote(shorten(method, 40)), shlex.quote(redact.excerpt(redact_url(url), URL_LIMIT))]
    for name, value in headers:
        if name.lower() in NOISE:
            continue
        shown = redact.excerpt(f"{name}: {redact_header(name, value)}", 500)
        parts += ["-H", shlex.quote(shown)]
    text = _body_text(body, redact)
    if text:
        parts += ["--data-binary", shlex.quote(redact.excerpt(text, BODY_LIMIT))]
    return " ".join(parts)


def _body_text(body: bytes | str | None, redact: Redactor) -> str:
    if not body:
        return ""
    return redact.body(body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body)


__all__ = ["BODY_LIMIT", "NOISE", "URL_LIMIT", "curl_line"]
