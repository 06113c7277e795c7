"""A broken server for the report tests: the real mock, except that it answers 422 where the
mock answers 400 (as many frameworks do) and echoes the caller's credential back in that
error's message, so a report that copies a response would leak the key."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver import create_app


class EchoingUnprocessable:
    def __init__(self, app: ASGIApp | None = None) -> None:
        self.app = app or create_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        credential = " ".join(v for k, v in headers.items() if k in ("authorization", "api-key"))
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            body = b"".join(chunks)
            status = start["status"]
            if status == 400:
                status = 422
                body = json.dumps({"error": "unprocessable", "message": f"rejected for {credential}"}).encode()
            out_headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            out_headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
