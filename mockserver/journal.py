"""The request journal: the last N requests the APIs received, with credentials redacted.

What frontend developers (and `convo_mock.requests` in pytest) read to see what their app
sent. Control-plane calls under /__mock__/ are not journaled.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({"authorization", "api-key", "cookie", "x-api-key", "proxy-authorization"})


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in SECRET_HEADERS:
            scheme, sep, _ = value.partition(" ")
            value = f"{scheme} {REDACTED}" if sep and name.endswith("authorization") else REDACTED
        result[name] = value
    return result


class Journal:
    def __init__(self, size: int) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)

    def clear(self) -> None:
        self.entries.clear()


class JournalMiddleware:
    """Pure ASGI (BaseHTTPMiddleware would cost a task per request)."""

    def __init__(self, app: ASGIApp, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock__"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            extensions = scope.get("state", {})
            self.journal.entries.append(
                {
                    "time": time.time(),
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope["query_string"].decode("latin-1"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "api": extensions.get("mock.api"),
                    "operationId": extensions.get("mock.operation"),
                    "headers": redact_headers(scope["headers"]),
                    "body": extensions.get("mock.body"),
                }
            )
