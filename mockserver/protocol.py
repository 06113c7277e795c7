"""uvicorn's httptools protocol with a bounded request head, and the seam through which
transport faults reach the connection.

httptools keeps a header's bytes until the header ends, however long that takes: one 8 MB
header costs 8 MB (and more in copies) before the app could look at it. This protocol counts
what arrives before the head is complete and answers 431 once it passes the limit, so a
connection holds at most the limit plus one read buffer. The header count and the precise
size are checked again in `guard.py`, where the parsed headers are at hand.

Every request's scope carries its `Connection` under `CONNECTION`, put there by this
protocol when the request begins: a reset or a truncated answer (`control/faults.py`) breaks
the connection through it, whatever middleware stands in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import orjson
from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .api.errors import short_code
from .config import MockConfig

CONNECTION = "mock.connection"  # the scope key


class Connection:
    """The connection a request arrived on, for the faults that break it."""

    __slots__ = ("_transport",)

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

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


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    # Set by `bounded_protocol`; the request line and header names count towards it too.
    max_head_bytes = MockConfig.max_header_bytes

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_done = False
        self._head_bytes = 0
        self._connection = Connection(transport)
        super().connection_made(transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[CONNECTION] = self._connection  # type: ignore[literal-required]

    def on_headers_complete(self) -> None:
        self._head_done = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head_done = False
        self._head_bytes = 0
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if not self._head_done:
            self._head_bytes += len(data)
        super().data_received(data)
        if not self._head_done and self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
            self._refuse_head()

    def _refuse_head(self) -> None:
        body = orjson.dumps(
            {
                "error": short_code(431),
                "message": f"request head exceeds the limit of {self.max_head_bytes} bytes",
            }
        )
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()
        self.logger.debug("request head over %d bytes refused with 431", self.max_head_bytes)


def bounded_protocol(max_head_bytes: int = MockConfig.max_header_bytes) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with this limit on a request head."""
    # A little room for the request line beyond the headers' own limit.
    limit = max_head_bytes + 16 * 1024
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"max_head_bytes": limit})
