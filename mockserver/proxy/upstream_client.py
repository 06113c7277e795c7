"""The proxy's HTTP/1.1 client: kept-alive connections to each upstream, requests written as
bytes, responses read by httptools' C parser (the one uvicorn reads requests with).

Measured with the proxy on a core of its own in front of the mock: httpx.AsyncClient over
its default transport made 117-310 requests/s, over an h11 transport 1,570; the client's own
work (building `httpx.Request`s, cookie jars, redirect and auth hooks, h11's pure-Python state
machine) then took most of the proxy's time. The proxy needs none of that: it forwards what
the client sent. Failures raise httpx's exception types, so that callers and messages keep
one vocabulary for transport errors.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httptools
import httpx

# Past this much unread body, stop reading from the upstream until the client catches up.
_HIGH_WATER = 512 * 1024
_LOW_WATER = 64 * 1024
# An answer's head (interim 1xx answers included) larger than this is refused: the parser keeps
# a header it has not finished in memory, so an upstream that never ends its head would grow it
# without bound. h11, which the proxy used before, refused past 16 KiB; nginx's default is 4-8 KiB.
_MAX_HEAD = 64 * 1024
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"})
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class Origin:
    """Where an upstream lives, parsed once from its URL (a path prefix is kept)."""

    scheme: str
    host: str
    port: int
    prefix: bytes
    host_header: bytes

    @classmethod
    def parse(cls, url: str) -> Origin:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"not an http(s) URL: {url}")
        default = 443 if parsed.scheme == "https" else 80
        port = parsed.port or default
        host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
        shown = host if port == default else f"{host}:{port}"
        return cls(parsed.scheme, parsed.host, port, parsed.raw_path.rstrip(b"/"), shown.encode("ascii"))


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: the parser's callbacks fill in the response in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._writable: asyncio.Future[None] | None = None
        self.begin(head=False, active=False)

    def begin(self, *, head: bool, active: bool) -> None:
        self.active = active
        self.head = head
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.head_bytes = 0
        self.paused = False
        self.headers_done = False
        self.complete = False
        self.reusable = False
        self.received = False
        self.error: httpx.TransportError | None = None
        self.waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        if not self.active:  # bytes nobody asked for: this connection is out of step
            self.close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed response ({exc})"))
        else:
            if not self.headers_done:
                self.head_bytes += len(data)
                if self.head_bytes > _MAX_HEAD:
                    self._fail(httpx.RemoteProtocolError(f"the answer's head exceeds {_MAX_HEAD} bytes"))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete and self.error is None:
            if self.headers_done and not self._framed():
                self.complete = True  # a body delimited by the close, as RFC 9112 §6.3 allows
            elif self.headers_done:
                self.error = httpx.ReadError(type(exc).__name__ if exc else "the upstream closed the connection")
            else:
                self.error = httpx.RemoteProtocolError("the upstream closed the connection without answering")
        self._wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.complete:
            # Another answer starts in the same read as the one just finished: nobody asked for
            # it, and the parser is now inside it, so the connection can carry no more requests.
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        # Past the head, the parser reports a chunked body's trailers here too. The head has
        # been handed out by then (the proxy passes `Response.headers` on after the body), so
        # they are dropped, as RFC 9110 §6.5.1 allows, rather than turned into headers.
        if not self.headers_done:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if self.status >= 200:
            self.headers_done = True
            if self.head:
                # No body follows an answer to HEAD, but the parser cannot know the method:
                # the answer ends here and the connection is not reused.
                self.complete = True
            self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.headers_done:  # a 1xx interim answer: the real one follows
            self.headers = []
            return
        if self.complete:
            return
        self.complete = True
        self.active = False
        self.reusable = self.parser.should_keep_alive()
        self._wake()

    # for the client

    def _framed(self) -> bool:
        """Whether the answer said where its body ends (else the close ends it, RFC 9112 §6.3):
        a Transfer-Encoding whose last coding is chunked or, without Transfer-Encoding, a
        Content-Length."""
        if self.status in (204, 304):
            return True
        codings = [value for name, value in self.headers if name.lower() == b"transfer-encoding"]
        if codings:
            return codings[-1].rsplit(b",", 1)[-1].strip().lower() == b"chunked"
        return any(name.lower() == b"content-length" for name, _ in self.headers)

    def _fail(self, error: httpx.TransportError) -> None:
        self.error = error
        self.close()
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        """Until the parser has something new (or the connection ends); ReadTimeout past `timeout`."""
        waiter = self.waiter = self.loop.create_future()
        timer = self.loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        except TimeoutError:
            self.close()
            raise httpx.ReadTimeout(f"no answer within {timeout:g} s") from None
        finally:
            if timer is not None:
                timer.cancel()
            self.waiter = None

    async def writable(self, timeout: float | None) -> None:
        if self._writable is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._writable), timeout)
        except TimeoutError:
            self.close()
            raise httpx.WriteTimeout(f"could not send within {timeout:g} s") from None

    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise httpx.WriteError("the upstream closed the connection")
        self.transport.write(data)

    def take(self) -> bytes | None:
        if not self.chunks:
            return None
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered < _LOW_WATER and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Response:
    """The upstream's answer: status and headers at once, the body as it arrives."""

    def __init__(self, client: UpstreamClient, origin: Origin, conn: _Connection, timeout: float | None) -> None:
        self._client = client
        self._origin = origin
        self._conn = conn
        self._timeout = timeout
        self.status_code = conn.status
        self.headers = conn.headers  # as sent: original case, repeats kept
        self._released = False

    def header(self, name: bytes) -> bytes | None:
        """The first value of a header (`name` in lower case)."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            chunk = conn.take()
            if chunk is not None:
                yield chunk
                continue
            if conn.complete:
                return
            if conn.error is not None:
                raise conn.error
            await conn.wait(self._timeout)

    async def aclose(self) -> None:
        if self._released:
            return
        self._released = True
        conn = self._conn
        if conn.complete and conn.reusable and not conn.closed and not conn.chunks:
            self._client._release(self._origin, conn)
        else:
            conn.close()


class UpstreamClient:
    """Requests to upstream origins over a pool of idle keep-alive connections per origin."""

    def __init__(self, timeout: float | None, max_idle: int = 64) -> None:
        self.timeout = timeout
        self._max_idle = max_idle
        self._idle: dict[Origin, list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    async def send(
        self,
        origin: Origin,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
        length: int | None = None,
    ) -> Response:
        """Send `method target` with `headers` (Host and framing are added here) and `body`:
        bytes, or chunks streamed with the declared `length` (chunked encoding without one).
        The answer once its status and headers are in."""
        head = _head(origin, method, target, headers, body, length)
        chunked = not isinstance(body, bytes) and length is None
        conn = self._idle_connection(origin)
        if conn is None:
            return await self._exchange(origin, await self._connect(origin), method, head, body, chunked)
        try:
            return await self._exchange(origin, conn, method, head, body, chunked)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            # A kept-alive connection the upstream had closed: once more on a new one, if
            # nothing came back, the body can be sent again and the method is idempotent
            # (RFC 9110 §9.2.2: a proxy must not retry a POST, which may have been acted on).
            if conn.received or not isinstance(body, bytes) or method not in _IDEMPOTENT:
                raise
            return await self._exchange(origin, await self._connect(origin), method, head, body, chunked)

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def _release(self, origin: Origin, conn: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) < self._max_idle:
            idle.append(conn)
        else:
            conn.close()

    async def _connect(self, origin: Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if origin.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            async with asyncio.timeout(self.timeout):
                _, conn = await loop.create_connection(lambda: _Connection(loop), origin.host, origin.port, ssl=tls)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"could not connect within {self.timeout:g} s") from None
        except ssl.SSLError as exc:
            raise httpx.ConnectError(f"TLS: {exc.reason or type(exc).__name__}") from None
        except OSError as exc:
            raise httpx.ConnectError(type(exc).__name__) from None
        return conn

    async def _exchange(
        self,
        origin: Origin,
        conn: _Connection,
        method: str,
        head: bytes,
        body: bytes | AsyncIterator[bytes],
        chunked: bool,
    ) -> Response:
        conn.begin(head=method == "HEAD", active=True)
        try:
            if isinstance(body, bytes):
                conn.write(head + body)
            else:
                conn.write(head)
                async for chunk in body:
                    if chunk:
                        conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                        await conn.writable(self.timeout)
                if chunked:
                    conn.write(b"0\r\n\r\n")
            while not conn.headers_done:
                if conn.error is not None:
                    raise conn.error
                await conn.wait(self.timeout)
        except BaseException:
            # Cancelled (the proxy's client went away), or the body's source failed: the
            # connection is half-way through an exchange and nobody holds it; close it rather
            # than leave the socket open until the upstream gives up on it.
            conn.close()
            raise
        return Response(self, origin, conn, self.timeout)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _head(
    origin: Origin,
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes | AsyncIterator[bytes],
    length: int | None,
) -> bytes:
    """The request line and headers; `headers` come from a request uvicorn already parsed, so
    they hold no line breaks, and carry no Host, Content-Length or Transfer-Encoding."""
    lines = [b"%b %b%b HTTP/1.1\r\nhost: %b\r\n" % (method.encode("ascii"), origin.prefix, target, origin.host_header)]
    lines += [b"%b: %b\r\n" % pair for pair in headers]
    if not isinstance(body, bytes):
        lines.append(b"transfer-encoding: chunked\r\n" if length is None else b"content-length: %d\r\n" % length)
    elif body or method not in _NO_BODY_METHODS:
        lines.append(b"content-length: %d\r\n" % len(body))
    lines.append(b"\r\n")
    return b"".join(lines)


__all__ = ["Origin", "Response", "UpstreamClient"]
