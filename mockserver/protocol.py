"""uvicorn's httptools protocol with a bounded request head, and the seam through which
transport faults reach the connection.

httptools keeps a header's bytes until the header ends, however long that takes: one 8 MB
header costs 8 MB (and more in copies) before the app could look at it. This protocol counts
what arrives before the head is complete and answers 431 once it passes the limit, so a
connection holds at most the limit plus one read buffer. The header count and the precise
size are checked again in `guard.py`, where the parsed headers are at hand. A head must also
be complete within `--head-timeout` seconds of the connection (or of the request's first
byte): a client dripping it a byte at a time is answered 408 and dropped (one that sent
nothing, silently).

Every request's scope carries its `Connection` under `CONNECTION`, put there by this
protocol when the request begins: a reset or a truncated answer (`control/faults.py`) breaks
the connection through it, whatever middleware stands in between, and a request that waits
on someone else (the proxy's upstream) learns through it that its client has left or that
the server is stopping (`Connection.watch`), without a task of its own listening.

A request httptools cannot parse is answered 400 by uvicorn, which logs only "Invalid HTTP
request received."; here that line names the peer and httptools' reason (inert, redacted),
and says so when the bytes were a TLS handshake (a client speaking HTTPS to this port).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

import orjson
import uvicorn
from starlette.types import ASGIApp, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from specs.redact import Redactor
from specs.text import printable, shorten

from .api.errors import short_code
from .config import MockConfig

CONNECTION = "mock.connection"  # the scope key
# What a connection's watcher is told (`Connection.watch`).
LEFT = "left"  # the client closed the connection (or it broke)
STOPPING = "stopping"  # the server began to stop: it waits for the requests in flight
# What uvicorn logs, bare, when httptools cannot parse a request (then it answers 400).
UVICORN_INVALID_REQUEST = "Invalid HTTP request received."
# A TLS handshake's first bytes (a handshake record, TLS 1.x): a client speaking HTTPS to us.
_TLS_HELLO = b"\x16\x03"


class Connection:
    """The connection a request arrived on: for the faults that break it, and for a request
    that watches it."""

    __slots__ = ("_transport", "_watcher")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._watcher: Callable[[str], None] | None = None

    def watch(self, watcher: Callable[[str], None] | None) -> None:
        """While the request in flight runs: `watcher(LEFT)` once the client has left,
        `watcher(STOPPING)` once the server begins to stop. None: no longer (the request's
        own `finally`; the next request on the connection watches for itself)."""
        self._watcher = watcher

    def tell(self, event: str) -> None:
        """Called by the protocol (LEFT, STOPPING), on the event loop."""
        if self._watcher is not None:
            self._watcher(event)

    def reset(self) -> None:
        """Closed at once with a TCP reset: the client sees no answer at all."""
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._transport.abort()

    def hang_up(self) -> None:
        """Closed after what was written so far: an answer cut short."""
        self._transport.close()


def connection(scope: Scope) -> Connection | None:
    """The request's connection; None when the server is not this protocol."""
    found = scope.get(CONNECTION)
    return found if isinstance(found, Connection) else None


class _ParseErrorContext(logging.LoggerAdapter):  # type: ignore[type-arg]
    """uvicorn's logger for one connection, but its bare "Invalid HTTP request received."
    becomes a line that says who sent what and why it was refused (`describe`)."""

    def __init__(self, logger: logging.Logger, describe: Callable[[BaseException | None], str]) -> None:
        super().__init__(logger, {})
        self._describe = describe

    @property
    def level(self) -> int:
        # uvicorn reads its logger's `level` to decide on trace lines.
        return int(self.logger.level)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        if msg == UVICORN_INVALID_REQUEST:
            # Called from uvicorn's `except httptools.HttpParserError:`: the error is at hand.
            msg = self._describe(sys.exc_info()[1])
        super().warning(msg, *args, **kwargs)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    # Set by `bounded_protocol`; the request line and header names count towards it too.
    max_head_bytes = MockConfig.max_header_bytes
    head_timeout = MockConfig.head_timeout
    # Set by `bounded_protocol`: what a log line about a client's bytes redacts.
    redactor: Callable[[], Redactor] = staticmethod(lambda: Redactor(()))

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_done = False
        self._head_bytes = 0
        self._first_bytes = b""
        self._connection = Connection(transport)
        super().connection_made(transport)
        self.logger = _ParseErrorContext(self.logger, self._parse_error)  # type: ignore[assignment]
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)
        self._connection.tell(LEFT)

    def shutdown(self) -> None:
        super().shutdown()
        self._connection.tell(STOPPING)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[CONNECTION] = self._connection  # type: ignore[literal-required]

    def on_headers_complete(self) -> None:
        self._head_done = True
        self._stop_head_timer()
        super().on_headers_complete()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:
            message = f"the request head was not complete within {self.head_timeout:g} s (--head-timeout)"
            self._answer_and_close(408, "Request Timeout", message)
        else:
            self.transport.close()
        self.logger.debug("connection dropped: no complete request head within %g s", self.head_timeout)

    def on_message_complete(self) -> None:
        self._head_done = False
        self._head_bytes = 0
        super().on_message_complete()

    def _parse_error(self, error: BaseException | None) -> str:
        """The log line for a request httptools refused: the peer, httptools' reason (inert,
        redacted, short), and a hint when the bytes were a TLS handshake."""
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "an unknown peer"
        reason = shorten(self.redactor()(str(error) if error is not None else "unparseable"), 120)
        hint = " (a TLS handshake: the client speaks HTTPS to this plain-HTTP port)"
        hint = hint if self._first_bytes.startswith(_TLS_HELLO) else ""
        return printable(f"invalid HTTP request from {peer}: {reason}; answered 400{hint}")

    def data_received(self, data: bytes) -> None:
        if not self._head_bytes:
            self._first_bytes = data[:2]
        if not self._head_done:
            self._head_bytes += len(data)
        super().data_received(data)
        if not self._head_done and self._head_bytes:
            # A head begun and not complete: now it has a deadline (a head that arrives whole,
            # as nearly every one does, never costs a timer).
            if self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
                self._refuse_head()
            elif self._head_timer is None:
                self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _refuse_head(self) -> None:
        message = f"request head exceeds the limit of {self.max_head_bytes} bytes"
        self._answer_and_close(431, "Request Header Fields Too Large", message)
        self.logger.debug("request head over %d bytes refused with 431", self.max_head_bytes)

    def _answer_and_close(self, status: int, phrase: str, message: str) -> None:
        """The mock's JSON error, written before any request reached the app, then the close."""
        self._stop_head_timer()
        body = orjson.dumps({"error": short_code(status), "message": message})
        head = (
            f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


def bounded_protocol(
    max_head_bytes: int = MockConfig.max_header_bytes,
    head_timeout: float = MockConfig.head_timeout,
    redactor: Callable[[], Redactor] | None = None,
) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with these bounds on a request head;
    `redactor` gives what its log lines redact (the mock's keys as they are then)."""
    # A little room for the request line beyond the headers' own limit.
    limit = max_head_bytes + 16 * 1024
    bounds: dict[str, object] = {"max_head_bytes": limit, "head_timeout": head_timeout}
    if redactor is not None:
        bounds["redactor"] = staticmethod(redactor)
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), bounds)


def server_config(app: ASGIApp, config: MockConfig, **options: object) -> uvicorn.Config:
    """How uvicorn runs a mock (`convo-mock`, the background server of the fixtures): this
    protocol, the lifespan on, no access log, and no X-Forwarded-* rewriting of the client
    address and scheme (nothing here reads the client's address; the public URL comes from
    --public-url or the listening socket, never from what a client claims)."""
    settings: dict[str, object] = {"access_log": False, "lifespan": "on", "proxy_headers": False, **options}
    # The mock's journal knows every key in use (its own and those seen in traffic); an app
    # without one (a wrapped app) is redacted by the keys it was started with.
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    journal = getattr(runtime, "journal", None)
    keys = Redactor(k.key for k in config.keys)
    redactor: Callable[[], Redactor] = journal.redactor if journal is not None else lambda: keys
    protocol = bounded_protocol(config.max_header_bytes, config.head_timeout, redactor)
    return uvicorn.Config(app, http=protocol, **settings)  # type: ignore[arg-type]
