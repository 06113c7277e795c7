"""CORS whose preflight answers agree with the API: a path's preflight advertises exactly the
methods its spec declares, the `Allow` header of that path's 405 (HEAD and OPTIONS included:
neither is declared, so neither is advertised). Elsewhere Starlette's CORSMiddleware as is."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from specs import Operation


def _pattern(template: str) -> re.Pattern[str]:
    # A path parameter matches one segment, as the router's {name} does.
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


class PathCORSMiddleware(CORSMiddleware):
    def __init__(self, app: ASGIApp, /, operations: Iterable[Operation], **options: Any) -> None:
        super().__init__(app, **options)
        by_path: dict[str, list[str]] = {}
        for operation in operations:
            by_path.setdefault(operation.path, []).append(operation.method)
        self.paths = [(_pattern(path), methods) for path, methods in by_path.items()]

    def methods_for(self, path: str) -> list[str] | None:
        return next((methods for pattern, methods in self.paths if pattern.match(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            methods = self.methods_for(scope["path"])
            if "origin" in headers and "access-control-request-method" in headers and methods is not None:
                response = self.preflight_response(request_headers=headers)
                response.headers["access-control-allow-methods"] = ", ".join(methods)
                if headers["access-control-request-method"].upper() not in methods and response.status_code == 200:
                    response = PlainTextResponse(
                        f"Disallowed CORS method; allowed: {', '.join(methods)}",
                        status_code=400,
                        headers={k: v for k, v in response.headers.items() if k.startswith("access-control-")},
                    )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
