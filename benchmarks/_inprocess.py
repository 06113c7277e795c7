"""Requests driven through uvicorn's own HTTP protocol in-process: the request's bytes fed
to the protocol as the event loop would, the answer's bytes taken from a stand-in transport.
Everything a server does per request but the socket calls: parsing (httptools), the ASGI
cycle, the app, writing the answer. No network and no second process, so a busy machine
blurs it far less than req/s, and callgrind can count its instructions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from specs.auth import scheme_of

RT = scheme_of("runtype").headers("demo-alice")
SP = scheme_of("systemprompt").headers("demo-alice")
HOST = "127.0.0.1:8000"
# What a client such as wrk or httpx sends: a Host, the key, a few usual headers.
COMMON = {"Host": HOST, "User-Agent": "bench/1.0", "Accept": "*/*"}


def raw(method: str, target: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in {**COMMON, **headers}.items())]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


CASES: dict[str, bytes] = {
    "runtype GET one": raw("GET", "/v1/conversations/conv_demo1_1", RT),
    'runtype PUT {"title":"x"}': raw(
        "PUT", "/v1/conversations/conv_demo1_1", {**RT, "Content-Type": "application/json"}, b'{"title": "x"}'
    ),
    "runtype list limit=20": raw("GET", "/v1/conversations?limit=20", RT),
    "systemprompt GET one": raw("GET", "/v1/conversation/497f6eca-6276-4993-bfeb-53cbbbba6f08", SP),
}


class _Transport(asyncio.Transport):
    """What the protocol writes to; counts complete answers by their status lines."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.answers = 0
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        chunk = bytes(data)
        if chunk.startswith(b"HTTP/1.1 "):
            self.answers += 1
            self.written.append(chunk[:12])
        elif not self.written:
            self.written.append(chunk[:12])

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def bare_config(app: Any) -> Config:
    """uvicorn's own defaults, as `uvicorn bare_app:app --http httptools` runs it."""
    return Config(app, lifespan="off", access_log=False, log_level="error", http="httptools")


def mock_config(app: Any) -> Config:
    """As `convo-mock` runs the mock (`mockserver.protocol.server_config`)."""
    from mockserver.config import MockConfig
    from mockserver.protocol import server_config

    return server_config(app, MockConfig(), lifespan="off", log_level="error")


def connection(config: Config) -> tuple[Any, _Transport]:
    """A protocol instance connected to a stand-in transport, as uvicorn makes one per client."""
    if not config.loaded:
        config.load()
    protocol: type[HttpToolsProtocol] = config.http_protocol_class  # type: ignore[assignment]
    proto = protocol(config=config, server_state=ServerState(), app_state={})
    transport = _Transport()
    proto.connection_made(transport)
    return proto, transport


async def _drive(config: Config, request: bytes, count: int) -> float:
    proto, transport = connection(config)
    started = time.process_time()
    for _ in range(count):
        before = transport.answers
        proto.data_received(request)
        while transport.answers == before:
            await asyncio.sleep(0)
    elapsed = time.process_time() - started
    status = transport.written[-1][9:12]
    if not status.startswith(b"2"):
        raise RuntimeError(f"the request was answered {status.decode()}")
    proto.connection_lost(None)
    return elapsed


def per_request_us(config: Config, request: bytes, count: int, rounds: int) -> float:
    """Best of `rounds`: µs of CPU per request, end to end through uvicorn's protocol."""
    best = float("inf")
    for _ in range(rounds):
        elapsed = run(lambda: _drive(config, request, count))
        best = min(best, elapsed / count * 1e6)
    return best


def run(main: Callable[[], Any]) -> Any:
    """On uvloop, the loop the servers run on."""
    return uvloop.run(main())
