"""The proxy's upstream client (`mockserver/upstream_client.py`) against real loopback servers.

Each upstream here is an asyncio TCP server on 127.0.0.1 that reads requests as bytes and
answers with scripted raw bytes, so protocol edge cases (chunk extensions, trailers, interim
answers, stray bytes, early closes) are sent exactly as written. It runs on the test's own
event loop, and every test runs on both loops the proxy may get (asyncio's and uvloop's, which
uvicorn picks when installed). The last test puts a real mock process with `--upstream` in
front of such a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
import uvloop

from mockserver.proxy import upstream_client
from mockserver.proxy.upstream_client import Limits, Origin, Response, UpstreamClient
from tests.conftest import ALICE, MockProcess

T = TypeVar("T")
Runner = Callable[[Callable[[], Coroutine[Any, Any, T]]], T]

TIMEOUT = 5.0  # the client's timeout where none is provoked: a hang fails the test, not the run
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner[Any]:
    factory = uvloop.new_event_loop if request.param == "uvloop" else asyncio.new_event_loop

    def go(test: Callable[[], Coroutine[Any, Any, T]]) -> T:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(test())

    return go


# --- a scripted upstream ------------------------------------------------------------------


@dataclass
class Received:
    """One request as the upstream read it."""

    head: bytes  # request line and headers, as sent
    body: bytes  # the body, chunked framing removed
    raw: bytes  # every byte of the request, framing included

    @property
    def line(self) -> bytes:
        return self.head.split(b"\r\n", 1)[0]

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        lines = self.head.split(b"\r\n")[1:]
        pairs = [line.split(b":", 1) for line in lines if line]
        return [(name.lower(), value.strip()) for name, value in pairs]

    def header(self, name: bytes) -> bytes | None:
        values = [value for key, value in self.headers if key == name]
        assert len(values) <= 1, f"{name!r} sent {len(values)} times"
        return values[0] if values else None


@dataclass
class Peer:
    """One accepted connection, from the upstream's side."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    requests: list[Received] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # the client closed it

    async def request(self) -> Received | None:
        """The next request, or None once the client has closed the connection."""
        try:
            received = await self._read()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed.set()
            return None
        self.requests.append(received)
        return received

    async def _read(self) -> Received:
        head = await self.reader.readuntil(b"\r\n\r\n")
        received = Received(head, b"", head)
        if received.header(b"transfer-encoding") == b"chunked":
            body, raw = [], [head]
            while True:
                size_line = await self.reader.readuntil(b"\r\n")
                raw.append(size_line)
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    raw.append(await self.reader.readuntil(b"\r\n"))  # no trailers from this client
                    break
                data = await self.reader.readexactly(size + 2)
                raw.append(data)
                body.append(data[:-2])
            return Received(head, b"".join(body), b"".join(raw))
        if (length := received.header(b"content-length")) is not None:
            data = await self.reader.readexactly(int(length))
            return Received(head, data, head + data)
        return received

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def until_closed(self) -> None:
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass
        self.closed.set()


Handler = Callable[[Peer], Awaitable[None]]


class RawUpstream:
    """An upstream on loopback: `handler` runs for each accepted connection, which is closed
    when it returns."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.peers: list[Peer] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> RawUpstream:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        port = self._server.sockets[0].getsockname()[1]
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{netloc}:{port}"
        self.origin = Origin.parse(self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = Peer(reader, writer)
        self.peers.append(peer)
        # Swallowing the cancel too: this task ends the server's side at teardown, and asyncio
        # would log a cancelled connection handler as an error.
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            await self.handler(peer)
        writer.close()

    @property
    def requests(self) -> list[Received]:
        return [request for peer in self.peers for request in peer.requests]


def answering(*answers: bytes) -> Handler:
    """Answer a connection's n-th request with `answers[n]` (the last one repeats) until the
    client closes it."""

    async def handle(peer: Peer) -> None:
        sent = 0
        while await peer.request() is not None:
            await peer.send(answers[min(sent, len(answers) - 1)])
            sent += 1

    return handle


async def fetch(
    client: UpstreamClient,
    origin: Origin,
    method: str = "GET",
    target: bytes = b"/",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes | AsyncIterator[bytes] = b"",
    length: int | None = None,
) -> tuple[Response, bytes]:
    """Send a request, read its whole body and give the connection back."""
    response = await client.send(origin, method, target, headers or [], body, length)
    try:
        data = b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()
    return response, data


async def closed(peer: Peer) -> None:
    """Until the client has closed `peer`'s connection (a hang here fails the test)."""
    await asyncio.wait_for(peer.closed.wait(), TIMEOUT)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


# --- keep-alive and the pool --------------------------------------------------------------


def test_sequential_requests_share_one_connection(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(answering(OK)) as upstream:
            client = UpstreamClient(TIMEOUT)
            for n in range(5):
                response, body = await fetch(client, upstream.origin, target=b"/n/%d" % n)
                assert (response.status_code, body) == (200, b"ok")
            await client.aclose()
        assert len(upstream.peers) == 1
        assert [r.line for r in upstream.requests] == [b"GET /n/%d HTTP/1.1" % n for n in range(5)]

    run(test)


def test_concurrent_requests_open_their_own_connections_and_the_idle_pool_is_capped(run: Runner[None]) -> None:
    async def test() -> None:
        waiting: list[asyncio.Event] = []

        async def all_at_once(peer: Peer) -> None:
            # Each request is answered only once three are in, so none can wait for another's
            # connection to come free.
            while await peer.request() is not None:
                arrived = asyncio.Event()
                waiting.append(arrived)
                if len(waiting) % 3 == 0:
                    for event in waiting[-3:]:
                        event.set()
                await arrived.wait()
                await peer.send(OK)

        async with RawUpstream(all_at_once) as upstream:
            client = UpstreamClient(TIMEOUT, Limits(max_idle=2))
            first = await asyncio.gather(*(fetch(client, upstream.origin) for _ in range(3)))
            assert [body for _, body in first] == [b"ok"] * 3
            assert len(upstream.peers) == 3
            # Three came back, two were kept: the third is closed, and the next three requests
            # reuse the two and open one more.
            watching = [asyncio.create_task(peer.closed.wait()) for peer in upstream.peers]
            await asyncio.wait(watching, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            for task in watching:
                task.cancel()
            assert sum(peer.closed.is_set() for peer in upstream.peers) == 1
            second = await asyncio.gather(*(fetch(client, upstream.origin) for _ in range(3)))
            assert [body for _, body in second] == [b"ok"] * 3
            assert len(upstream.peers) == 4
            await client.aclose()

    run(test)


def close_on_second_request() -> Handler:
    """Answer a connection's first request; close it when the second arrives, unanswered
    (what a client sees when a server drops a kept-alive connection as a request is sent)."""

    async def handle(peer: Peer) -> None:
        if await peer.request() is not None:
            await peer.send(OK)
            await peer.request()

    return handle


def test_a_kept_alive_connection_the_upstream_dropped_is_retried_once_on_a_new_one(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(close_on_second_request()) as upstream:
            client = UpstreamClient(TIMEOUT)
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            response, body = await fetch(client, upstream.origin, "PUT", b"/again", body=b'{"n":2}')
            assert (response.status_code, body) == (200, b"ok")
            await client.aclose()
        assert len(upstream.peers) == 2
        # The retried request reached the new connection whole.
        assert [(r.line, r.body) for r in upstream.peers[1].requests] == [(b"PUT /again HTTP/1.1", b'{"n":2}')]

    run(test)


def test_a_post_is_not_retried_as_the_upstream_may_have_acted_on_it(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(close_on_second_request()) as upstream:
            client = UpstreamClient(TIMEOUT)
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            with pytest.raises(httpx.TransportError):
                await fetch(client, upstream.origin, "POST", b"/create", body=b'{"n":2}')
            await client.aclose()
        assert len(upstream.peers) == 1

    run(test)


def test_a_streamed_body_is_not_sent_twice(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(close_on_second_request()) as upstream:
            client = UpstreamClient(TIMEOUT)
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            with pytest.raises(httpx.TransportError):
                await fetch(client, upstream.origin, "POST", b"/", body=chunks(b"a", b"b"))
            await client.aclose()
        assert len(upstream.peers) == 1  # no second connection: the body could not be replayed

    run(test)


def test_past_the_connection_cap_requests_wait_for_a_connection_to_come_free(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(answering(OK)) as upstream:
            client = UpstreamClient(TIMEOUT, Limits(max_connections=2))
            answers = await asyncio.gather(*(fetch(client, upstream.origin, target=b"/%d" % n) for n in range(6)))
            assert [body for _, body in answers] == [b"ok"] * 6
            await client.aclose()
        # Two opened at once; the other four went over them as they came free.
        assert len(upstream.peers) == 2
        assert sorted(r.line for r in upstream.requests) == sorted(b"GET /%d HTTP/1.1" % n for n in range(6))

    run(test)


def held_answer(peer: Peer) -> Awaitable[None]:
    """Answer each request with a head announcing 10 bytes, and never send them."""

    async def handle() -> None:
        while await peer.request() is not None:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")

    return handle()


def test_a_request_waiting_past_the_timeout_for_a_connection_is_a_pool_timeout(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(held_answer) as upstream:
            client = UpstreamClient(0.2, Limits(max_connections=1))
            held = await client.send(upstream.origin, "GET", b"/held", [], b"")  # its body never read
            with pytest.raises(httpx.PoolTimeout):
                await client.send(upstream.origin, "GET", b"/waits", [], b"")
            # Its place came back when the first answer was let go (its connection closed).
            await held.aclose()
            await closed(upstream.peers[0])
            again = await client.send(upstream.origin, "GET", b"/again", [], b"")
            assert again.status_code == 200
            await again.aclose()
            await client.aclose()
        assert [r.line for r in upstream.requests] == [b"GET /held HTTP/1.1", b"GET /again HTTP/1.1"]

    run(test)


def test_a_waiting_request_takes_the_place_of_a_closed_connection_and_a_cancelled_one_gives_it_back(
    run: Runner[None],
) -> None:
    async def test() -> None:
        answers = 0

        async def first_held(peer: Peer) -> None:
            nonlocal answers
            while await peer.request() is not None:
                answers += 1
                # The first connection's answer never ends; later ones are whole.
                await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" if answers == 1 else OK)

        async with RawUpstream(first_held) as upstream:
            client = UpstreamClient(TIMEOUT, Limits(max_connections=1))
            held = await client.send(upstream.origin, "GET", b"/held", [], b"")
            cancelled = asyncio.create_task(fetch(client, upstream.origin, target=b"/cancelled"))
            waiting = asyncio.create_task(fetch(client, upstream.origin, target=b"/waiting"))
            for _ in range(5):
                await asyncio.sleep(0)  # both are in the queue
            assert not cancelled.done() and not waiting.done()
            cancelled.cancel()
            await held.aclose()  # read halfway: closed, and its place passes to the next in line
            response, body = await waiting
            assert (response.status_code, body) == (200, b"ok")
            # Nothing was lost on the way: the one place is free again.
            assert (await fetch(client, upstream.origin, target=b"/after"))[1] == b"ok"
            await client.aclose()
        assert [r.line for r in upstream.requests] == [
            b"GET /held HTTP/1.1",
            b"GET /waiting HTTP/1.1",
            b"GET /after HTTP/1.1",
        ]
        assert len(upstream.peers) == 2

    run(test)


def test_an_idle_connection_is_closed_after_its_expiry(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(answering(OK)) as upstream:
            client = UpstreamClient(TIMEOUT, Limits(idle_expiry=0.1))
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            await closed(upstream.peers[0])  # by the client, with no further request to prompt it
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            await client.aclose()
        assert len(upstream.peers) == 2 and [len(peer.requests) for peer in upstream.peers] == [1, 1]

    run(test)


def test_a_connection_the_upstream_closed_while_idle_is_not_used(run: Runner[None]) -> None:
    async def test() -> None:
        async def answer_once(peer: Peer) -> None:
            if await peer.request() is not None:
                await peer.send(OK)

        async with RawUpstream(answer_once) as upstream:
            client = UpstreamClient(TIMEOUT)
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            await asyncio.sleep(0.05)  # the close reaches the client's loop
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            await client.aclose()
        assert len(upstream.peers) == 2 and len(upstream.peers[1].requests) == 1

    run(test)


@pytest.mark.parametrize(
    ("answer", "reused"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", True),
    ],
    ids=["connection-close", "http-1.0", "http-1.0-keep-alive"],
)
def test_an_answer_that_ends_the_connection_is_not_reused(run: Runner[None], answer: bytes, reused: bool) -> None:
    async def test() -> None:
        async with RawUpstream(answering(answer)) as upstream:
            client = UpstreamClient(TIMEOUT)
            for _ in range(2):
                assert (await fetch(client, upstream.origin))[1] == b"ok"
            if not reused:
                await closed(upstream.peers[0])  # the client closed it; the upstream did not
            await client.aclose()
        assert len(upstream.peers) == (1 if reused else 2)

    run(test)


# --- response framing ---------------------------------------------------------------------

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
    b"5;name=value\r\nhello\r\n"
    b"1\r\n \r\n"
    b'6;quoted="a;b"\r\nworld!\r\n'
    b"0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
)


def test_a_chunked_body_with_extensions_and_trailers(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(answering(CHUNKED)) as upstream:
            client = UpstreamClient(TIMEOUT)
            for _ in range(2):
                response, body = await fetch(client, upstream.origin)
                assert body == b"hello world!"
                # The trailers are not headers: they came after the head was passed on.
                assert response.headers == [
                    (b"Content-Type", b"text/plain"),
                    (b"Transfer-Encoding", b"chunked"),
                    (b"Trailer", b"X-Checksum"),
                ]
            await client.aclose()
        assert len(upstream.peers) == 1

    run(test)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
        # RFC 9112 §6.3: a transfer coding other than a final chunked is also ended by the close.
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    ],
    ids=["no-framing", "gzip-coding", "chunked-not-last"],
)
def test_a_body_delimited_by_the_close(run: Runner[None], head: bytes) -> None:
    async def test() -> None:
        data = b"x" * 100_000

        async def until_close(peer: Peer) -> None:
            if await peer.request() is not None:
                await peer.send(head + data)

        async with RawUpstream(until_close) as upstream:
            client = UpstreamClient(TIMEOUT)
            for _ in range(2):
                response, body = await fetch(client, upstream.origin)
                assert (response.status_code, body) == (200, data)
            await client.aclose()
        assert len(upstream.peers) == 2

    run(test)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n',
    ],
    ids=["204", "304-with-content-length"],
)
def test_answers_without_a_body(run: Runner[None], answer: bytes) -> None:
    async def test() -> None:
        async with RawUpstream(answering(answer, OK)) as upstream:
            client = UpstreamClient(TIMEOUT)
            response, body = await fetch(client, upstream.origin)
            assert (response.status_code, body) == (int(answer[9:12]), b"")
            # The next answer on the same connection is read as its own.
            response, body = await fetch(client, upstream.origin)
            assert (response.status_code, body) == (200, b"ok")
            await client.aclose()
        assert len(upstream.peers) == 1

    run(test)


def test_head_with_a_content_length_ends_at_the_head(run: Runner[None]) -> None:
    async def test() -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1234\r\n\r\n"
        async with RawUpstream(answering(head)) as upstream:
            client = UpstreamClient(TIMEOUT)
            response, body = await fetch(client, upstream.origin, "HEAD", b"/thing")
            assert (response.status_code, body) == (200, b"")
            assert response.header(b"content-length") == b"1234"
            await closed(upstream.peers[0])  # not reused: its parser still expects the body
            response, body = await fetch(client, upstream.origin, "HEAD", b"/thing")
            assert (response.status_code, body) == (200, b"")
            await client.aclose()
        assert len(upstream.peers) == 2
        assert upstream.requests[0].line == b"HEAD /thing HTTP/1.1"
        assert upstream.requests[0].header(b"content-length") is None

    run(test)


def test_interim_answers_before_the_real_one(run: Runner[None]) -> None:
    async def test() -> None:
        answer = (
            b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
            b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-Final: 1\r\n\r\ndone"
        )
        async with RawUpstream(answering(answer)) as upstream:
            client = UpstreamClient(TIMEOUT)
            for _ in range(2):
                response, body = await fetch(client, upstream.origin, "POST", body=b"{}")
                assert (response.status_code, body) == (201, b"done")
                assert response.headers == [(b"Content-Length", b"4"), (b"X-Final", b"1")]
            await client.aclose()
        assert len(upstream.peers) == 1

    run(test)


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon in this line\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["status-code", "not-http", "header-line", "content-length", "chunk-size"],
)
def test_a_malformed_answer_is_a_protocol_error(run: Runner[None], answer: bytes) -> None:
    async def test() -> None:
        async with RawUpstream(answering(answer)) as upstream:
            client = UpstreamClient(TIMEOUT)
            with pytest.raises(httpx.RemoteProtocolError):
                await fetch(client, upstream.origin)
            await closed(upstream.peers[0])
            await client.aclose()

    run(test)


def endless(start: bytes, unit: bytes) -> Handler:
    """Answer with `start`, then `unit` over and over until the client closes the connection."""

    async def handle(peer: Peer) -> None:
        if await peer.request() is not None:
            await peer.send(start)
            while not peer.writer.is_closing():
                await peer.send(unit * (65536 // len(unit)))

    return handle


@pytest.mark.parametrize(
    ("start", "unit"),
    [
        (b"HTTP/1.1 200 OK\r\nX-Endless: ", b"a"),
        (b"HTTP/1.1 200 OK\r\n", b"X-Many: 1\r\n"),
        (b"", b"HTTP/1.1 100 Continue\r\n\r\n"),
    ],
    ids=["one-header", "many-headers", "interim-answers"],
)
def test_an_endless_head_is_refused(run: Runner[None], start: bytes, unit: bytes) -> None:
    async def test() -> None:
        async with RawUpstream(endless(start, unit)) as upstream:
            client = UpstreamClient(TIMEOUT)  # without a bound: a ReadTimeout, memory growing
            with pytest.raises(httpx.RemoteProtocolError, match="head exceeds"):
                await client.send(upstream.origin, "GET", b"/", [], b"")

    run(test)


def test_a_large_head_within_the_bound_is_read_whole(run: Runner[None]) -> None:
    async def test() -> None:
        value = b"v" * 100
        count = upstream_client._MAX_HEAD // 2 // len(value)
        head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: %b\r\n" % (n, value) for n in range(count))
        async with RawUpstream(answering(head + b"Content-Length: 2\r\n\r\nok")) as upstream:
            client = UpstreamClient(TIMEOUT)
            response, body = await fetch(client, upstream.origin)
            await client.aclose()
        assert body == b"ok" and len(response.headers) == count + 1

    run(test)


def test_a_refused_connection_is_a_connect_error(run: Runner[None]) -> None:
    async def test() -> None:
        with socket.socket() as sock:  # a port that was free a moment ago, now with no listener
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        client = UpstreamClient(TIMEOUT)
        with pytest.raises(httpx.ConnectError):
            await client.send(Origin.parse(f"http://127.0.0.1:{port}"), "GET", b"/", [], b"")

    run(test)


def test_no_answer_within_the_timeout_is_a_read_timeout(run: Runner[None]) -> None:
    async def test() -> None:
        async def silent(peer: Peer) -> None:
            await peer.request()
            await peer.until_closed()

        async with RawUpstream(silent) as upstream:
            client = UpstreamClient(0.2)
            with pytest.raises(httpx.ReadTimeout):
                await client.send(upstream.origin, "GET", b"/", [], b"")
            await closed(upstream.peers[0])

    run(test)


def test_a_full_accept_queue_is_a_connect_timeout(run: Runner[None]) -> None:
    async def test() -> None:
        with contextlib.ExitStack() as stack:
            listener = stack.enter_context(socket.socket())
            listener.bind(("127.0.0.1", 0))
            listener.listen(0)
            address = listener.getsockname()
            # Fill the queue with connections nobody accepts; once one hangs, so will the next.
            for _ in range(8):
                sock = stack.enter_context(socket.socket())
                sock.settimeout(0.2)
                try:
                    sock.connect(address)
                except TimeoutError:
                    break
            else:
                pytest.skip("this kernel completes connections past a full accept queue")
            client = UpstreamClient(0.2)
            with pytest.raises(httpx.ConnectTimeout):
                await client.send(Origin.parse(f"http://127.0.0.1:{address[1]}"), "GET", b"/", [], b"")

    run(test)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"y" * 60,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3c\r\n" + b"y" * 60 + b"\r\n",
    ],
    ids=["content-length", "chunked"],
)
def test_an_upstream_closing_mid_body_is_a_read_error(run: Runner[None], answer: bytes) -> None:
    async def test() -> None:
        broken = False

        async def break_off(peer: Peer) -> None:
            nonlocal broken
            if broken:
                await answering(OK)(peer)
            elif await peer.request() is not None:
                broken = True
                await peer.send(answer)  # and close

        async with RawUpstream(break_off) as upstream:
            client = UpstreamClient(TIMEOUT)
            response = await client.send(upstream.origin, "GET", b"/", [], b"")
            assert response.status_code == 200
            received = bytearray()
            with pytest.raises(httpx.ReadError):
                async for chunk in response.aiter_raw():
                    received += chunk
            await response.aclose()
            assert received == b"y" * 60  # what did arrive was passed on first
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            await client.aclose()
        assert len(upstream.peers) == 2

    run(test)


def test_a_cancelled_request_closes_its_connection(run: Runner[None]) -> None:
    async def test() -> None:
        arrived = asyncio.Event()

        async def silent(peer: Peer) -> None:
            await peer.request()
            arrived.set()
            await peer.until_closed()

        async with RawUpstream(silent) as upstream:
            client = UpstreamClient(TIMEOUT)
            sending = asyncio.create_task(client.send(upstream.origin, "GET", b"/", [], b""))
            await asyncio.wait_for(arrived.wait(), TIMEOUT)
            sending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sending
            await closed(upstream.peers[0])  # not left open, half used, outside the pool

    run(test)


def test_a_request_body_that_fails_closes_its_connection(run: Runner[None]) -> None:
    async def test() -> None:
        async def broken() -> AsyncIterator[bytes]:
            yield b"part"
            raise RuntimeError("the client went away")

        async with RawUpstream(answering(OK)) as upstream:
            client = UpstreamClient(TIMEOUT)
            with pytest.raises(RuntimeError):
                await client.send(upstream.origin, "POST", b"/", [], broken())
            await closed(upstream.peers[0])
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            await client.aclose()
        assert len(upstream.peers) == 2

    run(test)


# --- flow control -------------------------------------------------------------------------


def test_a_large_answer_read_slowly_stays_bounded_in_memory(run: Runner[None], monkeypatch: pytest.MonkeyPatch) -> None:
    size = 20 * 1024 * 1024
    block = hashlib.sha256(b"block").digest() * 2048  # 64 KiB that is not all one byte
    seen = {"read": 0, "buffered": 0, "paused": 0}

    class Watched(upstream_client._Connection):
        def data_received(self, data: bytes) -> None:
            seen["read"] = max(seen["read"], len(data))
            answer = self.answer
            super().data_received(data)
            seen["buffered"] = max(seen["buffered"], answer.buffered if answer is not None else 0)
            seen["paused"] += self.paused

    monkeypatch.setattr(upstream_client, "_Connection", Watched)

    async def test() -> None:
        async def large(peer: Peer) -> None:
            if await peer.request() is not None:
                await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                for _ in range(size // len(block)):
                    await peer.send(block)
                await peer.until_closed()

        async with RawUpstream(large) as upstream:
            client = UpstreamClient(TIMEOUT)
            response = await client.send(upstream.origin, "GET", b"/", [], b"")
            await asyncio.sleep(0.2)  # a reader that has not started: the upstream sends on
            digest, total = hashlib.sha256(), 0
            async for chunk in response.aiter_raw():
                digest.update(chunk)
                total += len(chunk)
                await asyncio.sleep(0)
            await response.aclose()
            await client.aclose()
        expected = hashlib.sha256(block * (size // len(block))).hexdigest()
        assert (total, digest.hexdigest()) == (size, expected)
        assert seen["paused"] > 0  # the reader fell behind, and reading stopped
        # Reading stops once past the high-water mark, so at most one more read lands on top.
        assert seen["buffered"] <= upstream_client._HIGH_WATER + seen["read"]

    run(test)


# --- the request as sent ------------------------------------------------------------------


def test_a_streamed_body_with_a_declared_length_is_sent_raw(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(answering(OK)) as upstream:
            client = UpstreamClient(TIMEOUT)
            parts = (b'{"a":', b"", b"1}")
            await fetch(client, upstream.origin, "PUT", b"/x", body=chunks(*parts), length=7)
            await client.aclose()
        (request,) = upstream.requests
        assert request.header(b"content-length") == b"7" and request.header(b"transfer-encoding") is None
        assert request.raw == request.head + b'{"a":1}'

    run(test)


def test_a_streamed_body_without_a_length_is_sent_chunked(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(answering(OK)) as upstream:
            client = UpstreamClient(TIMEOUT)
            big = b"z" * 70_000
            await fetch(client, upstream.origin, "POST", b"/x", body=chunks(b"abc", b"", big))
            # The framing ended where it should: the connection carries the next request.
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            await client.aclose()
        first, second = upstream.requests
        assert first.header(b"transfer-encoding") == b"chunked" and first.header(b"content-length") is None
        # An empty part is not sent: it would be read as the last chunk.
        assert first.raw == first.head + b"3\r\nabc\r\n" + b"%x\r\n%b\r\n" % (len(big), big) + b"0\r\n\r\n"
        assert first.body == b"abc" + big and second.line == b"GET / HTTP/1.1" and len(upstream.peers) == 1

    run(test)


def test_the_request_line_host_and_framing_headers(run: Runner[None]) -> None:
    async def test() -> None:
        async with RawUpstream(answering(OK)) as upstream:
            client = UpstreamClient(TIMEOUT)
            origin = Origin.parse(upstream.url + "/api/v2/")
            sent = [(b"Accept", b"application/json"), (b"X-Twice", b"1"), (b"X-Twice", b"2")]
            await fetch(client, origin, "GET", b"/items?q=a%20b&x=1", sent)
            await fetch(client, origin, "POST", b"/items", [], b"")
            await fetch(client, origin, "POST", b"/items", [], b'{"a":1}')
            await fetch(client, origin, "DELETE", b"/items/1", [], b"")
            await client.aclose()
        get, empty_post, post, delete = upstream.requests
        assert get.line == b"GET /api/v2/items?q=a%20b&x=1 HTTP/1.1"
        port = upstream.url.rsplit(":", 1)[1]
        assert get.headers == [(b"host", b"127.0.0.1:" + port.encode()), *[(k.lower(), v) for k, v in sent]]
        assert empty_post.line == b"POST /api/v2/items HTTP/1.1" and empty_post.header(b"content-length") == b"0"
        assert post.header(b"content-length") == b"7" and post.body == b'{"a":1}'
        assert delete.header(b"content-length") is None and get.header(b"content-length") is None

    run(test)


def test_the_host_header_of_an_ipv6_upstream(run: Runner[None]) -> None:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback (::1) on this machine")

    async def test() -> None:
        async with RawUpstream(answering(OK), host="::1") as upstream:
            client = UpstreamClient(TIMEOUT)
            assert (await fetch(client, upstream.origin, target=b"/six"))[1] == b"ok"
            await client.aclose()
        (request,) = upstream.requests
        port = upstream.url.rsplit(":", 1)[1].encode()
        assert request.line == b"GET /six HTTP/1.1" and request.header(b"host") == b"[::1]:" + port

    run(test)


@pytest.mark.parametrize(
    ("url", "host_header", "port", "prefix"),
    [
        ("http://example.com", b"example.com", 80, b""),
        ("https://example.com:443/", b"example.com", 443, b""),
        ("http://example.com:443/v1/", b"example.com:443", 443, b"/v1"),
        ("https://[2001:db8::1]:8443/a/b", b"[2001:db8::1]:8443", 8443, b"/a/b"),
    ],
)
def test_an_origin_from_a_url(url: str, host_header: bytes, port: int, prefix: bytes) -> None:
    origin = Origin.parse(url)
    assert (origin.host_header, origin.port, origin.prefix) == (host_header, port, prefix)


@pytest.mark.parametrize("url", ["ftp://example.com/", "http://", "/just/a/path"])
def test_an_origin_needs_an_http_url(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        Origin.parse(url)


# --- stray bytes --------------------------------------------------------------------------


def test_stray_bytes_on_an_idle_connection_drop_it(run: Runner[None]) -> None:
    async def test() -> None:
        answered = asyncio.Event()

        peers = 0

        async def chatty(peer: Peer) -> None:
            nonlocal peers
            peers += 1
            if peers > 1:
                await answering(OK)(peer)
            elif await peer.request() is not None:
                await peer.send(OK)
                await answered.wait()
                await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
                await peer.until_closed()

        async with RawUpstream(chatty) as upstream:
            client = UpstreamClient(TIMEOUT)
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            answered.set()
            await closed(upstream.peers[0])
            assert (await fetch(client, upstream.origin))[1] == b"ok"
            await client.aclose()
        assert len(upstream.peers) == 2 and len(upstream.peers[0].requests) == 1

    run(test)


def test_bytes_past_the_answer_in_the_same_packet_drop_the_connection(run: Runner[None]) -> None:
    async def test() -> None:
        # The start of a second answer nobody asked for, in one write with the first.
        async with RawUpstream(answering(OK + b"HTTP/1.1 200 OK\r\nX-Stray: 1\r\n")) as upstream:
            client = UpstreamClient(TIMEOUT)
            response, body = await fetch(client, upstream.origin)
            assert (body, response.headers) == (b"ok", [(b"Content-Length", b"2")])
            response, body = await fetch(client, upstream.origin)
            assert (response.status_code, body) == (200, b"ok")
            await client.aclose()
        assert len(upstream.peers) == 2

    run(test)


# --- through the proxy --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def proxy_in_front_of(url: str) -> AsyncIterator[MockProcess]:
    """`convo-mock --upstream url` as a child process, started and stopped off the loop that
    runs the upstream."""
    proxy = await asyncio.to_thread(MockProcess, "--upstream", url)
    try:
        yield proxy
    finally:
        await asyncio.to_thread(proxy.stop)


def test_head_and_chunked_answers_pass_through_the_proxy() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1234\r\nX-Upstream: head\r\n\r\n"
    # A HEAD answered as the GET would be sent, chunked: no length for the proxy to invent.
    chunked_head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"

    async def by_method(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            if request.line.startswith(b"HEAD /v1/conversations/"):
                await peer.send(chunked_head)
            else:
                await peer.send(head if request.line.startswith(b"HEAD ") else CHUNKED)

    async def test() -> None:
        async with (
            RawUpstream(by_method) as upstream,
            proxy_in_front_of(upstream.url) as proxy,
            httpx.AsyncClient(base_url=proxy.base_url, timeout=TIMEOUT) as http,
        ):
            auth = {"Authorization": f"Bearer {ALICE}"}
            for _ in range(2):  # the second over the proxy's kept-alive connection
                answer = await http.head("/v1/conversations", headers=auth)
                assert (answer.status_code, answer.content) == (200, b"")
                assert answer.headers["content-length"] == "1234"
                assert answer.headers["x-upstream"] == "head"
                answer = await http.get("/v1/conversations/c1/messages", headers=auth)
                assert (answer.status_code, answer.text) == (200, "hello world!")
                assert answer.headers["content-type"] == "text/plain"
                assert "x-checksum" not in answer.headers and "x-other" not in answer.headers
                answer = await http.head("/v1/conversations/conv_x", headers=auth)
                assert answer.status_code == 200 and answer.headers.get("content-length") != "0"
        assert [r.line.split(b" ")[0] for r in upstream.requests] == [b"HEAD", b"GET", b"HEAD"] * 2

    with asyncio.Runner() as runner:
        runner.run(test())
