"""Upstreams for the proxy tests: real apps wrapped in a `Tap` that keeps every exchange and
can break one thing, and the `serve` fixture that runs them under uvicorn on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corpus.broken import read_body
from mockserver.background import BackgroundServer

SECRET = "sk-live-0123456789abcdef"  # the real service's key, as an app would send it

# (status, headers, body) → (status, headers, body): one fault in an upstream's answers.
Rewrite = Callable[[str, str, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response: bytes = b""


@dataclass
class Tap:
    """Wraps an upstream app: records every exchange; `rewrite` and `rewrite_request` break it."""

    app: ASGIApp
    rewrite: Rewrite | None = None
    rewrite_request: Callable[[bytes], bytes] | None = None
    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock__"):
            await self.app(scope, receive, send)
            return
        raw = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        seen = Seen(scope["method"], scope["path"], headers, raw)
        self.seen.append(seen)
        body = self.rewrite_request(raw) if self.rewrite_request else raw
        inner_headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        inner_headers.append((b"content-length", str(len(body)).encode()))
        status, out_headers, chunks = 0, {}, []
        delivered = False

        async def inner_receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def inner_send(message: Message) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            else:
                chunks.append(message.get("body", b""))

        await self.app({**scope, "headers": inner_headers}, inner_receive, inner_send)
        data = b"".join(chunks)
        if self.rewrite:
            status, out_headers, data = self.rewrite(scope["method"], scope["path"], status, out_headers, data)
        out_headers["content-length"] = str(len(data))
        seen.status, seen.response = status, data
        await send({"type": "http.response.start", "status": status, "headers": _raw(out_headers)})
        await send({"type": "http.response.body", "body": data})


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers.items()]


@pytest.fixture
def serve() -> Iterator[Callable[[ASGIApp], BackgroundServer]]:
    started: list[BackgroundServer] = []

    def start(app: ASGIApp) -> BackgroundServer:
        server = BackgroundServer(app).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


def drop_updated_at(method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> Any:
    data = json.loads(body) if body else None
    if isinstance(data, dict):
        data.pop("updatedAt", None)
        body = json.dumps(data).encode()
    return status, headers, body


def create_202(method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> Any:
    return (202 if status == 201 else status), headers, body


def text_plain(method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> Any:
    return status, {**headers, "content-type": "text/plain"}, body


def truncate_title(raw: bytes) -> bytes:
    data = json.loads(raw)
    data["title"] = data["title"][:500]
    return json.dumps(data).encode()


class SocketUpstream:
    """A raw HTTP/1.1 upstream on 127.0.0.1, in threads of its own: for each request head,
    `answer(conn, head)` writes whatever bytes it likes; the connection is closed after it
    (answers should say `Connection: close`). `sent` counts the bytes `send` wrote, `ended`
    is set when a write found the connection closed by the proxy."""

    def __init__(self, answer: Callable[[SocketUpstream, socket.socket, bytes], None]) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.heads: list[bytes] = []
        self.sent = 0
        self.ended = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            head = data.split(b"\r\n\r\n", 1)[0]
            self.heads.append(head)
            try:
                self.answer(self, conn, head)
            except OSError:
                self.ended.set()

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def __enter__(self) -> SocketUpstream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
