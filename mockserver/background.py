"""Run an ASGI app (the mock, or a wrapped one) under uvicorn in a background thread on a
free 127.0.0.1 port: what the pytest fixtures and the suite's own tests use."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import MockConfig
from .protocol import server_config

T = TypeVar("T")


class _LoopCapture:
    """The app, unchanged, but the server's event loop noted from the lifespan call (the
    first one uvicorn makes): `BackgroundServer.call` schedules work on it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)


class BackgroundServer:
    def __init__(self, app: ASGIApp, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self._app = _LoopCapture(app)
        config = server_config(self._app, MockConfig(), log_level="warning")
        # Off the main thread uvicorn leaves signals alone: this server is stopped by `stop()`.
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def call(self, function: Callable[[], T], timeout: float = 10.0) -> T:
        """Run `function` on the server's event loop and return its result: between two
        requests, never in the middle of one (handlers are synchronous between awaits)."""
        loop = self._app.loop
        if loop is None or not self._thread.is_alive():
            raise RuntimeError("the server is not running")

        async def on_loop() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(on_loop(), loop).result(timeout)

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()
