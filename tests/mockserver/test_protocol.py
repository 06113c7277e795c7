"""The server protocol's bounds on a request head: its size (431, in test_hardening.py) and
the time it may take (`--head-timeout`)."""

from __future__ import annotations

import select
import socket
import time
from typing import Any

import httpx
import orjson

from mockserver.config import MockConfig


def _connect(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _answered(sock: socket.socket) -> bytes | None:
    """What the server sent (b"" when it closed), or None when it has said nothing yet."""
    if not select.select([sock], [], [], 0)[0]:
        return None
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def test_the_default_bound_is_at_most_30_seconds() -> None:
    assert 0 < MockConfig().head_timeout <= 30


def test_a_request_head_dripped_a_byte_at_a_time_is_dropped(spawn_mock: Any) -> None:
    mock = spawn_mock("--head-timeout", "1")
    with _connect(mock.base_url) as sock:
        sock.sendall(b"GET /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = None
        # One header byte every 0.2 s: 40 s of dripping if nothing stopped it.
        for _ in range(200):
            answer = _answered(sock)
            if answer is not None:
                break
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                answer = b""
                break
            time.sleep(0.2)
    assert answer is not None, "the connection was still open after 40 s of dripping"
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert "--head-timeout" in orjson.loads(body)["message"]
    # Requests that send their head at once are served as before.
    assert httpx.get(mock.base_url + "/__mock__/health").status_code == 200


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(spawn_mock: Any) -> None:
    mock = spawn_mock("--head-timeout", "1")
    with _connect(mock.base_url) as sock:
        ready = select.select([sock], [], [], 30)[0]
        assert ready, "the idle connection was still open after 30 s"
        assert sock.recv(65536) == b""


def _refused(mock: Any, raw: bytes) -> bytes:
    with _connect(mock.base_url) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_request_httptools_refuses_is_logged_with_its_peer_and_reason(spawn_mock: Any) -> None:
    """Not uvicorn's bare "Invalid HTTP request received.": who, why, and no key in it."""
    import re
    import time

    secret = "sk-parse-error-secret-42"
    mock = spawn_mock("--key", secret)
    bad = f"GET / HTTP/1.1\r\nAuthorization: Bearer {secret}\r\nBad\x01Name: \x1b[31m\r\n\r\n".encode()
    assert _refused(mock, bad).startswith(b"HTTP/1.1 400")
    assert _refused(mock, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40).startswith(b"HTTP/1.1 400")
    pattern = re.compile(r"invalid HTTP request from 127\.0\.0\.1:(\d+): (.+); answered 400( \(a TLS handshake.*\))?$")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [m for line in list(mock.output) if (m := pattern.search(line.rstrip("\n")))]
        if len(found) == 2:
            break
        time.sleep(0.05)
    assert [(bool(m.group(2)), bool(m.group(3))) for m in found] == [(True, False), (True, True)]
    output = "".join(mock.output)
    assert "Invalid HTTP request received." not in output
    assert secret not in output and "\x1b" not in output
