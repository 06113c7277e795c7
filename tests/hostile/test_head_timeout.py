"""Issue 18, problem 7: a request head that does not complete within a bound is dropped (a
connection dripping one header byte at a time held the mock's connection for good)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from mockserver.config import MockConfig
from tests.conftest import MockProcess

HEAD_TIMEOUT_FLAG = "--head-timeout"


def test_a_head_dripping_one_byte_at_a_time_is_dropped(spawn_mock: Callable[..., MockProcess]) -> None:
    mock = spawn_mock(HEAD_TIMEOUT_FLAG, "1")
    address = urlsplit(mock.base_url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(b"GET /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: ")
        sock.settimeout(0.2)
        answer, dropped = b"", False
        deadline = time.monotonic() + 20  # a bound on the wait, far above the 1 s asked for
        while time.monotonic() < deadline and not dropped:
            try:
                sock.sendall(b"x")
                chunk = sock.recv(65536)
                answer += chunk
                dropped = not chunk
            except TimeoutError:
                continue
            except OSError:  # reset by the mock
                dropped = True
    assert dropped, "the connection is still open 20 s into a head that never ends"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]
    # The mock serves on, to whole requests.
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_the_default_head_timeout_is_at_most_30_seconds() -> None:
    timeout = getattr(MockConfig(), "head_timeout", None)
    assert isinstance(timeout, int | float) and 0 < timeout <= 30
