"""CORS whose preflight answers agree with the API: a path's preflight advertises exactly the
methods its spec declares, the `Allow` header of that path's 405 (HEAD and OPTIONS included:
neither is declared, so neither is advertised). Elsewhere Starlette's CORSMiddleware rules.

A policy, not a middleware: `app.Front` asks it for a preflight's answer and lets it add the
CORS headers to an answer. A request without an `Origin` header (no browser's cross-origin
call: curl, a test client, a server) gets what Starlette's middleware would give it,
`Vary: Origin`, without its per-request objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Scope, Send

from specs import Operation

RawHeaders = list[tuple[bytes, bytes]]
_VARY = (b"vary", b"Origin")


def _pattern(template: str) -> re.Pattern[str]:
    # A path parameter matches one segment, as the router's {name} does.
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


class Cors:
    def __init__(self, operations: Iterable[Operation], **options: Any) -> None:
        # Starlette's rules for everything but a spec path's preflight methods.
        self.rules = CORSMiddleware(None, **options)  # type: ignore[arg-type]  # never called as an app
        by_path: dict[str, list[str]] = {}
        for operation in operations:
            by_path.setdefault(operation.path, []).append(operation.method)
        self.paths = [(_pattern(path), methods) for path, methods in by_path.items()]

    def methods_for(self, path: str) -> list[str] | None:
        return next((methods for pattern, methods in self.paths if pattern.match(path)), None)

    def preflight(self, scope: Scope, headers: Headers) -> Response | None:
        """The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method);
        None for any other request."""
        if scope["method"] != "OPTIONS" or "origin" not in headers or "access-control-request-method" not in headers:
            return None
        response = self.rules.preflight_response(request_headers=headers)
        methods = self.methods_for(scope["path"])
        if methods is None:
            return response
        response.headers["access-control-allow-methods"] = ", ".join(methods)
        if headers["access-control-request-method"].upper() not in methods and response.status_code == 200:
            return PlainTextResponse(
                f"Disallowed CORS method; allowed: {', '.join(methods)}",
                status_code=400,
                headers={k: v for k, v in response.headers.items() if k.startswith("access-control-")},
            )
        return response

    async def send(self, message: Message, send: Send, headers: Headers) -> None:
        """Send an answer to a request that carried an Origin, with Starlette's CORS headers."""
        await self.rules.send(message, send, request_headers=headers)


def with_vary(headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    """An answer's headers with Origin added to Vary, as Starlette's `headers["Vary"] = ...`
    does: the values of every Vary header joined into the first one's place, the others
    dropped. A copy: the sender's list may be its own."""
    headers = list(headers)
    for name, _ in headers:
        if name == b"vary":
            break
    else:
        headers.append(_VARY)
        return headers
    found = [i for i, (name, _) in enumerate(headers) if name == b"vary"]
    joined = b", ".join([*(headers[i][1] for i in found), b"Origin"])
    headers[found[0]] = (b"vary", joined)
    for index in reversed(found[1:]):
        del headers[index]
    return headers
