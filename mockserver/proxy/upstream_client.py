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
from dataclasses import dataclass, field

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
    # The pool is looked up by origin twice a request: its hash worked out once.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.scheme, self.host, self.port, self.prefix, self.host_header)))

    def __hash__(self) -> int:
        return self._hash

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


class MalformedAnswer(httpx.RemoteProtocolError):
    """The upstream answered, but not with HTTP/1.1 this client can read: a broken head or
    framing, a status outside 100-599, a head past the bound. `rule` names what broke for a
    violation: `status` or `malformedResponse`."""

    def __init__(self, message: str, rule: str = "malformedResponse") -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class Limits:
    """How many connections the client keeps to each origin (httpx's `Limits`, per origin).

    Past `max_connections` (in use and idle together) a request waits for one to come free,
    within the client's timeout (then `httpx.PoolTimeout`); at most `max_idle` idle ones are
    kept, each for at most `idle_expiry` seconds. The expiry is below the 5 s keep-alive
    timeout of uvicorn and Node, so that the proxy, not the upstream, drops an idle connection
    first and a request is seldom written onto one the upstream is closing."""

    max_connections: int | None = 100
    max_idle: int = 64
    idle_expiry: float | None = 4.0


class _Answer:
    """One answer as it is read: everything one exchange learns lives here (the connection's
    parser fills it in), so nothing needs resetting between exchanges."""

    __slots__ = (
        "buffered",
        "chunks",
        "complete",
        "conn",
        "error",
        "head",
        "head_bytes",
        "headers",
        "headers_done",
        "need",
        "progress",
        "reusable",
        "status",
        "timer",
        "waiter",
    )

    def __init__(self, conn: _Connection, *, head: bool) -> None:
        self.conn = conn
        self.head = head  # an answer to HEAD: it ends with its head
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0  # body bytes read from the upstream and not yet taken
        self.head_bytes = 0
        self.progress = 0  # reads so far: any means the request may have been acted on
        self.headers_done = False
        self.complete = False
        self.reusable = False
        self.error: httpx.TransportError | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.need = -1  # the waiter wakes once the head is in and more body than this is buffered

    def lost(self, exc: Exception | None) -> None:
        """The connection closed under this answer."""
        if not self.complete and self.error is None:
            if self.headers_done and not self._framed():
                self.complete = True  # a body delimited by the close, as RFC 9112 §6.3 allows
            elif self.headers_done:
                self.error = httpx.ReadError(type(exc).__name__ if exc else "the upstream closed the connection")
            else:
                self.error = httpx.RemoteProtocolError("the upstream closed the connection without answering")
        self._wake()

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

    def fail(self, error: httpx.TransportError) -> None:
        if self.error is None:
            self.error = error
        self.conn.close()
        self._wake()

    def _wake(self) -> None:
        """Resume the reader if what it waits for is in: the head and more than `need` bytes of
        body, or the end of the answer, or a failure; or reading stopped at the high-water mark.
        Every wake-up resumes the whole ASGI stack above the reader: waiting here for the held
        body, not for each packet, is what makes one upstream answer cost one resumption."""
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if (
            self.complete
            or self.error is not None
            or self.conn.closed
            or (self.headers_done and (self.buffered > self.need or self.conn.paused))
        ):
            waiter.set_result(None)

    async def wait(self, timeout: float | None, need: int = -1) -> None:
        """Until the head is in and more than `need` body bytes are buffered (or the answer
        ended, or failed); ReadTimeout once `timeout` passes without a read."""
        loop = self.conn.loop
        waiter = self.waiter = loop.create_future()
        self.need = need
        self._wake()  # what it waits for may be in already
        if timeout is not None and not waiter.done():
            self.timer = loop.call_later(timeout, self._expire, waiter, timeout, self.progress)
        try:
            await waiter
        except TimeoutError:
            self.conn.close()
            raise httpx.ReadTimeout(f"no answer within {timeout:g} s") from None
        finally:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            self.waiter = None

    def _expire(self, waiter: asyncio.Future[None], timeout: float, seen: int) -> None:
        if waiter.done():
            return
        if self.progress != seen:  # something came in meanwhile: the timeout starts again
            self.timer = self.conn.loop.call_later(timeout, self._expire, waiter, timeout, self.progress)
            return
        waiter.set_exception(TimeoutError())

    def take(self) -> bytes | None:
        if not self.chunks:
            return None
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.buffered < _LOW_WATER:
            self.conn.resume_reading()
        return chunk


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, with the parser of its answers: its callbacks fill in the
    answer in flight, `answer` (None between exchanges: a byte then is out of step). One parser
    for the connection's life, as its answers follow each other on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.paused = False  # reading stopped until the reader catches up
        self.answer: _Answer | None = None
        self.idle_since = 0.0
        self._writable: asyncio.Future[None] | None = None

    def begin(self, *, head: bool) -> _Answer:
        """A new exchange: the answer it will read."""
        self.answer = _Answer(self, head=head)
        return self.answer

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        answer = self.answer
        if answer is None:  # bytes nobody asked for: this connection is out of step
            self.close()
            return
        answer.progress += 1
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            answer.fail(MalformedAnswer("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            answer.fail(MalformedAnswer(f"malformed response ({exc})"))
        else:
            if not answer.headers_done:
                answer.head_bytes += len(data)
                if answer.head_bytes > _MAX_HEAD:
                    answer.fail(MalformedAnswer(f"the answer's head exceeds {_MAX_HEAD} bytes"))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is not None:
            self.answer.lost(exc)
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # httptools callbacks: `answer` is None once the answer in flight is complete (and for
    # whatever follows it in the same read)

    def on_message_begin(self) -> None:
        if self.answer is None:
            # Another answer starts in the same read as the one just finished: nobody asked for
            # it, and the parser is now inside it, so the connection can carry no more requests.
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        # Past the head, the parser reports a chunked body's trailers here too. The head has
        # been handed out by then (the proxy passes `Response.headers` on after the body), so
        # they are dropped, as RFC 9110 §6.5.1 allows, rather than turned into headers.
        answer = self.answer
        if answer is not None and not answer.headers_done:
            answer.headers.append((name, value))

    def on_headers_complete(self) -> None:
        answer = self.answer
        if answer is None:
            return
        answer.status = status = self.parser.get_status_code()
        if not 100 <= status <= 599:
            # RFC 9110 §15: a status is three digits, 100-599; the parser takes any three.
            answer.fail(MalformedAnswer(f"status {status} is outside 100-599", rule="status"))
        elif status >= 200:
            answer.headers_done = True
            if answer.head:
                # No body follows an answer to HEAD, but the parser cannot know the method:
                # the answer ends here and the connection is not reused.
                answer.complete = True
                self.answer = None
            answer._wake()

    def on_body(self, body: bytes) -> None:
        answer = self.answer
        if answer is None:
            return
        answer.chunks.append(body)
        answer.buffered += len(body)
        if answer.buffered > _HIGH_WATER:
            self.pause_reading()
        answer._wake()

    def on_message_complete(self) -> None:
        answer = self.answer
        if answer is None:
            return
        if not answer.headers_done:  # a 1xx interim answer: the real one follows
            answer.headers = []
            return
        answer.complete = True
        answer.reusable = self.parser.should_keep_alive()
        self.answer = None
        answer._wake()

    # for the client

    def pause_reading(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

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

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True


class Response:
    """The upstream's answer: status and headers at once, the body as it arrives."""

    def __init__(self, client: UpstreamClient, origin: Origin, answer: _Answer, timeout: float | None) -> None:
        self._client = client
        self._origin = origin
        self._answer = answer
        self._timeout = timeout
        self.status_code = answer.status
        self.headers = answer.headers  # as sent: original case, repeats kept
        self._released = False

    def header(self, name: bytes) -> bytes | None:
        """The first value of a header (`name` in lower case)."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        answer = self._answer
        while True:
            chunk = answer.take()
            if chunk is not None:
                yield chunk
                continue
            if answer.complete:
                return
            if answer.error is not None:
                raise answer.error
            await answer.wait(self._timeout, 0)

    @property
    def complete(self) -> bool:
        """Whether the whole answer is in (it may still be buffered here)."""
        return self._answer.complete

    def take_buffered(self) -> list[bytes]:
        """The body read so far and not yet taken, at once (no await: what `hold` waited for)."""
        answer = self._answer
        chunks = list(answer.chunks)
        answer.chunks.clear()
        answer.buffered = 0
        answer.conn.resume_reading()
        return chunks

    def abort(self) -> None:
        """Stop reading now: the connection is closed (the reader then sees a ReadError)."""
        self._answer.conn.close()

    async def aclose(self) -> None:
        """Done with the answer: its connection goes back to the pool if the answer was read
        to its end and the upstream keeps it open; else it is closed."""
        if self._released:
            return
        self._released = True
        answer, conn = self._answer, self._answer.conn
        reusable = answer.complete and answer.reusable and not conn.closed and not answer.chunks
        if not reusable:
            conn.close()
        self._client._release(self._origin, conn)


class _Pool:
    """One origin's connections: the idle ones (newest last) and how many are in use."""

    __slots__ = ("busy", "idle", "sweep", "waiting")

    def __init__(self) -> None:
        self.idle: collections.deque[_Connection] = collections.deque()
        self.busy = 0  # connections in use, or being opened
        self.waiting: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()
        self.sweep: asyncio.TimerHandle | None = None


class UpstreamClient:
    """Requests to upstream origins over a pool of kept-alive connections per origin."""

    def __init__(self, timeout: float | None, limits: Limits = Limits()) -> None:
        self.timeout = timeout
        self.limits = limits
        self._pools: dict[Origin, _Pool] = {}
        self._tls: ssl.SSLContext | None = None

    async def send(
        self,
        origin: Origin,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
        length: int | None = None,
        hold: int = 0,
    ) -> Response:
        """Send `method target` with `headers` (Host and framing are added here) and `body`:
        bytes, or chunks streamed with the declared `length` (chunked encoding without one).
        The answer once its status and headers are in and, with `hold`, once it is complete or
        more than `hold` bytes of its body are buffered (or reading paused at the high-water
        mark): a caller that holds the body to check it is resumed once, not per packet."""
        head = _head(origin, method, target, headers, body, length)
        chunked = not isinstance(body, bytes) and length is None
        conn = await self._acquire(origin)
        if conn is None:
            return await self._exchange(origin, await self._connect(origin), method, head, body, chunked, hold)
        try:
            return await self._exchange(origin, conn, method, head, body, chunked, hold)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as exc:
            # A kept-alive connection the upstream had closed: once more on a new one, if
            # nothing came back, the body can be sent again and the method is idempotent
            # (RFC 9110 §9.2.2: a proxy must not retry a POST, which may have been acted on).
            answer = conn.answer
            if (
                isinstance(exc, MalformedAnswer)
                or (answer is not None and answer.progress)
                or not isinstance(body, bytes)
                or method not in _IDEMPOTENT
            ):
                raise
            retry = await self._acquire(origin)
            if retry is not None:
                retry.close()  # an idle one may be as stale as the last: a new one in its place
            return await self._exchange(origin, await self._connect(origin), method, head, body, chunked, hold)

    def _pool(self, origin: Origin) -> _Pool:
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = _Pool()
        return pool

    async def _acquire(self, origin: Origin) -> _Connection | None:
        """An idle connection to `origin`, or None with a place to open a new one; past
        `max_connections`, whichever comes free first (PoolTimeout past the timeout)."""
        pool = self._pool(origin)
        expiry = self.limits.idle_expiry
        now = asyncio.get_running_loop().time() if expiry is not None and pool.idle else 0.0
        while pool.idle:
            conn = pool.idle.pop()
            if conn.closed or (expiry is not None and now - conn.idle_since > expiry):
                conn.close()
                continue
            pool.busy += 1
            return conn
        cap = self.limits.max_connections
        if cap is None or pool.busy < cap:
            pool.busy += 1
            return None
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        pool.waiting.append(waiter)
        try:
            async with asyncio.timeout(self.timeout):
                return await waiter
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():
                # Handed a place just as the wait ended: pass it on.
                self._release(origin, waiter.result())
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout(f"all {cap} connections stayed busy for {self.timeout:g} s") from None
            raise

    def _release(self, origin: Origin, conn: _Connection | None) -> None:
        """A connection (None: a place whose connection never opened) is done with: to the
        first waiting request, else into the idle pool if it is still open."""
        pool = self._pool(origin)
        reusable = conn is not None and not conn.closed
        while pool.waiting:
            waiter = pool.waiting.popleft()
            if not waiter.done():
                # The place passes on as it is: the open connection, or the right to open one.
                waiter.set_result(conn if reusable else None)
                return
        pool.busy -= 1
        if conn is None or not reusable:
            return
        if len(pool.idle) >= self.limits.max_idle:
            conn.close()
            return
        conn.idle_since = conn.loop.time()
        pool.idle.append(conn)
        if self.limits.idle_expiry is not None and pool.sweep is None:
            pool.sweep = conn.loop.call_at(conn.idle_since + self.limits.idle_expiry, self._sweep, origin)

    def _sweep(self, origin: Origin) -> None:
        """Close the idle connections past their expiry; come back for the next one."""
        pool = self._pool(origin)
        pool.sweep = None
        expiry = self.limits.idle_expiry
        if expiry is None:
            return
        now = asyncio.get_running_loop().time()
        while pool.idle and (pool.idle[0].closed or now - pool.idle[0].idle_since >= expiry):
            pool.idle.popleft().close()
        if pool.idle:
            oldest = pool.idle[0]
            pool.sweep = oldest.loop.call_at(oldest.idle_since + expiry, self._sweep, origin)

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
        except BaseException as exc:
            self._release(origin, None)
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(f"could not connect within {self.timeout:g} s") from None
            if isinstance(exc, ssl.SSLError):
                raise httpx.ConnectError(f"TLS: {exc.reason or type(exc).__name__}") from None
            if isinstance(exc, OSError):
                raise httpx.ConnectError(type(exc).__name__) from None
            raise
        return conn

    async def _exchange(
        self,
        origin: Origin,
        conn: _Connection,
        method: str,
        head: bytes,
        body: bytes | AsyncIterator[bytes],
        chunked: bool,
        hold: int,
    ) -> Response:
        answer = conn.begin(head=method == "HEAD")
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
            while not answer.headers_done:
                if answer.error is not None:
                    raise answer.error
                try:
                    await answer.wait(self.timeout, hold if hold > 0 else -1)
                except httpx.ReadTimeout as exc:
                    if not answer.headers_done:
                        raise
                    # The head came, the held body stopped coming: the reader gets what did
                    # come, then this.
                    answer.error = exc
        except BaseException:
            # Cancelled (the proxy's client went away), or the body's source failed: the
            # connection is half-way through an exchange and nobody holds it; close it rather
            # than leave the socket open until the upstream gives up on it.
            conn.close()
            self._release(origin, conn)
            raise
        return Response(self, origin, answer, self.timeout)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            if pool.sweep is not None:
                pool.sweep.cancel()
            for conn in pool.idle:
                conn.close()
            pool.idle.clear()
            for waiter in pool.waiting:
                waiter.cancel()
        self._pools.clear()


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


__all__ = ["Limits", "MalformedAnswer", "Origin", "Response", "UpstreamClient"]
