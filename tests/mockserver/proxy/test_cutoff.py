"""An exchange cut off before its end (mockserver/proxy/cutoff.py): the client leaves at any
point of it, or Ctrl-C stops the proxy with it in flight. Either way the proxy stops waiting
on the upstream and closes that connection; Ctrl-C still ends in the report and the record.

The upstreams here answer a request with what the test gives them, then hold the connection
open until the proxy closes it: the only way the test sees its end is the proxy closing it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Message

from mockserver import create_app
from mockserver.background import BackgroundServer
from tests.conftest import ALICE, MockProcess
from tests.mockserver.proxy.test_endpoint import RT, proxy_config, violations
from tests.mockserver.proxy.upstreams import SocketUpstream

ITEM = "/v1/conversations/conv_1"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
BUFFER = 8 * 1024 * 1024  # MockConfig.proxy_buffer: past it an answer is relayed as it comes
LARGE = HEAD % (4 * BUFFER) + b" " * (BUFFER + 1024 * 1024)  # relayed before it is whole


class Held:
    """An upstream answer: `parts` written, then the connection held open until the proxy
    closes it (`closed`)."""

    def __init__(self, *parts: bytes) -> None:
        self.parts = parts
        self.closed = threading.Event()

    def __call__(self, upstream: SocketUpstream, conn: socket.socket, head: bytes) -> None:
        try:
            for part in self.parts:
                upstream.send(conn, part)
            while conn.recv(65536):
                pass
        finally:
            self.closed.set()


def until(condition: Callable[[], object], timeout: float = 10) -> None:
    """A bounded wait for something another thread or process does."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.02)


def request(path: str, method: str = "GET", body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ALICE}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def journal(proxy: BackgroundServer | MockProcess) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(proxy.base_url + "/__mock__/requests").json()["requests"]
    return entries


@pytest.mark.parametrize(
    ("stage", "answer", "status"),
    [
        ("before the upstream's head", Held(), 0),
        ("while the answer is held to be checked", Held(HEAD % 1000, b'{"id": "conv_1", "ti'), 0),
        ("while the answer is relayed past the buffer", Held(LARGE), 200),
    ],
    ids=["no head", "held", "relayed"],
)
def test_a_client_that_leaves_gets_its_upstream_connection_closed_at_any_stage(
    stage: str, answer: Held, status: int, serve: Any
) -> None:
    with SocketUpstream(answer) as upstream:
        proxy = serve(create_app(proxy_config(upstream.base_url)))
        with socket.create_connection(("127.0.0.1", proxy.port)) as client:
            client.sendall(request(ITEM))
            until(lambda: upstream.heads)
            if status:
                assert client.recv(65536).startswith(b"HTTP/1.1 200 ")  # the relay has begun
        assert answer.closed.wait(10), f"the proxy still holds the upstream's connection {stage}"
        # The cut is nobody's violation; the journal has the exchange, answered or not.
        assert violations(proxy) == []
        (entry,) = journal(proxy)
        assert (entry["path"], entry["status"]) == (ITEM, status)


def test_what_the_request_broke_is_recorded_when_its_client_leaves(serve: Any) -> None:
    answer = Held()
    with SocketUpstream(answer) as upstream:
        proxy = serve(create_app(proxy_config(upstream.base_url)))
        with socket.create_connection(("127.0.0.1", proxy.port)) as client:
            client.sendall(request(ITEM, "PUT", json.dumps({"title": "t" * 501}).encode()))
            until(lambda: upstream.heads)
        assert answer.closed.wait(10)
        (found,) = violations(proxy)
        assert (found["direction"], found["rule"]) == ("request", "maxLength")


def test_under_another_server_the_client_leaving_is_heard_from_receive() -> None:
    """No `Connection` in the scope (not the mock's protocol): the proxy listens to receive()
    once the request body is read, and cuts the exchange off on `http.disconnect`."""
    answer = Held(HEAD % 1000, b"{")
    with SocketUpstream(answer) as upstream:
        app = create_app(proxy_config(upstream.base_url))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": ITEM,
            "raw_path": ITEM.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode()) for k, v in RT.items())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        sent: list[Message] = []

        async def scenario() -> None:
            left = asyncio.Event()
            read = False

            async def receive() -> Message:
                nonlocal read
                if not read:
                    read = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                await left.wait()
                return {"type": "http.disconnect"}

            async def send(message: Message) -> None:
                sent.append(message)

            exchange = asyncio.ensure_future(app(scope, receive, send))
            await asyncio.to_thread(until, lambda: upstream.heads)
            left.set()
            await asyncio.wait_for(exchange, 10)
            await app.state.proxy.aclose()

        asyncio.run(scenario())
        assert answer.closed.wait(10)
        assert sent == []  # nobody to answer
        assert app.state.proxy.violations.total == 0


def _in_flight(proxy: MockProcess, outcome: dict[str, Any], started: threading.Event) -> None:
    """A client waiting for an answer through the proxy, reading it as it comes."""
    received = 0
    try:
        with httpx.stream("GET", proxy.base_url + ITEM, headers=RT, timeout=30) as answer:
            outcome["status"] = answer.status_code
            if answer.status_code != 200:
                outcome["body"] = json.loads(answer.read())
                return
            for chunk in answer.iter_raw():
                received += len(chunk)
                started.set()
    except httpx.TransportError as exc:
        outcome["error"] = type(exc).__name__
    finally:
        outcome["received"] = received


def _held_or_quick(held: Held) -> Callable[[SocketUpstream, socket.socket, bytes], None]:
    """`held` for the item; any other request a quick answer that breaks the spec (text/plain)."""

    def answer(upstream: SocketUpstream, conn: socket.socket, head: bytes) -> None:
        if head.startswith(b"GET %b " % ITEM.encode()):
            held(upstream, conn, head)
        else:
            upstream.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n")
            upstream.send(conn, b"Connection: close\r\n\r\nno")

    return answer


@pytest.mark.parametrize("answered", [False, True], ids=["before the answer", "during the relay"])
def test_ctrl_c_cuts_the_exchanges_in_flight_off_and_still_writes_the_report_and_record(
    answered: bool, spawn_mock: Any, tmp_path: Path
) -> None:
    answer = Held(LARGE) if answered else Held()
    report, record = tmp_path / "traffic.json", tmp_path / "record.json"
    with SocketUpstream(_held_or_quick(answer)) as upstream:
        proxy: MockProcess = spawn_mock("--upstream", upstream.base_url, "--json", str(report), "--record", str(record))
        # One exchange that breaks the spec and is answered: the report has something to say.
        assert httpx.get(proxy.base_url + "/v1/conversations", headers=RT).status_code == 200
        outcome: dict[str, Any] = {}
        started = threading.Event()
        client = threading.Thread(target=_in_flight, args=(proxy, outcome, started), daemon=True)
        client.start()
        until(lambda: len(upstream.heads) == 2)
        if answered:
            assert started.wait(10)
        code = proxy.stop()  # SIGINT, then a bounded wait (killed past it)
        client.join(10)
    output = "".join(proxy.output)
    assert code == 0, output
    assert answer.closed.is_set(), "the upstream's connection was left open"
    if answered:
        # The answer had begun: it ends cut short, and the client can tell.
        assert outcome["status"] == 200 and outcome.get("error") is not None, outcome
        assert outcome["received"] < 4 * BUFFER
    else:
        assert (outcome["status"], outcome["body"]["error"]) == (503, "proxy_stopping"), outcome
    assert "Traceback" not in output and "ERROR" not in output, output
    traffic = json.loads(report.read_bytes())
    assert traffic["target"]["families"] == ["traffic"] and traffic["summary"]["failed"] >= 1
    assert json.loads(record.read_bytes()) == {"tenants": {}}
