"""The request journal: the last N requests the APIs received, with credentials redacted.

What frontend developers (and `convo_mock.requests` in pytest) read to see what their app
sent. Control-plane calls under /__mock__/ are not journaled.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from specs.redact import redact_headers

from .request import RequestInfo


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return redact_headers((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


class Journal:
    """Entries are kept raw and shaped (and redacted) only when read: the hot path pays
    for an append, not for decoding headers nobody may ever look at."""

    def __init__(self, size: int) -> None:
        self.entries: deque[tuple[Any, ...]] = deque(maxlen=size)

    def clear(self) -> None:
        self.entries.clear()

    def read(self) -> list[dict[str, Any]]:
        return [
            {
                "time": at,
                "method": method,
                "path": path,
                "query": query.decode("latin-1"),
                "status": status,
                "duration_ms": round(duration * 1000, 3),
                "api": info.api,
                "operationId": info.operation,
                "headers": _headers(headers),
                "body": info.body,
                "requestId": info.request_id,  # proxy mode: what violations refer to
            }
            for at, method, path, query, status, duration, info, headers in list(self.entries)
        ]


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
            self.journal.entries.append(
                (
                    time.time(),
                    scope["method"],
                    scope["path"],
                    scope["query_string"],
                    status,
                    time.perf_counter() - started,
                    RequestInfo.of(scope),
                    scope["headers"],
                )
            )
