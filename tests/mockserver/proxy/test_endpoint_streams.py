"""Answers of any size through a real proxy process: relayed with flat memory, and no longer
read once the client has left.

The upstream is a raw socket server in threads of its own (`SocketUpstream`) that generates its
answers as it sends them: nothing of the gigabyte is stored anywhere but in flight. Memory is
read from the proxy's /proc/PID/status: VmHWM is the peak resident set the process ever had.
"""

from __future__ import annotations

import socket
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ALICE, MockProcess
from tests.mockserver.proxy.upstreams import SocketUpstream

RT = {"Authorization": f"Bearer {ALICE}"}
BLOCK = bytes(range(256)) * 4096  # 1 MiB that is not one byte repeated
GIB = 1 << 30
MEMORY_BOUND = 64 * 1024 * 1024

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/PID/status (Linux)")


def memory(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak), in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def large_answers(upstream: SocketUpstream, conn: socket.socket, head: bytes) -> None:
    """`/v1/conversations/gib`: 1 GiB with its length; `/v1/conversations/endless`: no end
    (delimited by a close that never comes); anything else: a small JSON object."""
    if head.startswith(b"GET /v1/conversations/gib "):
        upstream.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % GIB)
        upstream.send(conn, b"Connection: close\r\n\r\n")
        for _ in range(GIB // len(BLOCK)):
            upstream.send(conn, BLOCK)
    elif head.startswith(b"GET /v1/conversations/endless "):
        upstream.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        while True:
            upstream.send(conn, BLOCK)
    else:
        upstream.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n")
        upstream.send(conn, b"Connection: close\r\n\r\n{}")


def test_a_gigabyte_answer_is_relayed_whole_while_the_proxy_memory_stays_flat(spawn_mock: Any) -> None:
    with SocketUpstream(large_answers) as upstream:
        proxy: MockProcess = spawn_mock("--upstream", upstream.base_url)
        # Warmed up: the first request imports and compiles what every later one uses.
        assert httpx.get(proxy.base_url + "/v1/conversations/small", headers=RT).status_code == 200
        before = memory(proxy.proc.pid)["VmRSS"]
        received, crc = 0, 0
        with httpx.stream("GET", proxy.base_url + "/v1/conversations/gib", headers=RT, timeout=60) as answer:
            assert answer.status_code == 200 and answer.headers["content-length"] == str(GIB)
            for chunk in answer.iter_raw():
                received += len(chunk)
                crc = zlib.crc32(chunk, crc)
        after = memory(proxy.proc.pid)
    expected = 0
    for _ in range(GIB // len(BLOCK)):
        expected = zlib.crc32(BLOCK, expected)
    assert (received, crc) == (GIB, expected)
    assert after["VmHWM"] - before < MEMORY_BOUND, f"peak {after['VmHWM'] >> 20} MiB from {before >> 20} MiB"
    # The journal kept its capped prefix and the size, not the gigabyte.
    (entry,) = httpx.get(proxy.base_url + "/__mock__/requests", params={"path": "/v1/conversations/gib"}).json()[
        "requests"
    ]
    assert entry["response"]["bodyBytes"] == GIB


def test_an_endless_answer_is_no_longer_read_once_the_client_hangs_up(spawn_mock: Any) -> None:
    with SocketUpstream(large_answers) as upstream:
        proxy: MockProcess = spawn_mock("--upstream", upstream.base_url)
        read = 0
        with httpx.stream("GET", proxy.base_url + "/v1/conversations/endless", headers=RT, timeout=60) as answer:
            assert answer.status_code == 200
            for chunk in answer.iter_raw():
                read += len(chunk)
                if read > 32 * len(BLOCK):  # past the 8 MiB held to be checked: relayed as it comes
                    break
        # The client hung up: the proxy closes the upstream connection, whose next write fails.
        assert upstream.ended.wait(30), f"the upstream was still being read after {upstream.sent >> 20} MiB"
        sent = upstream.sent
        assert sent - read < MEMORY_BOUND  # what was in flight and in buffers, no more
        # The proxy still serves, and the journal recorded the exchange.
        assert httpx.get(proxy.base_url + "/v1/conversations/small", headers=RT).status_code == 200
        journal = httpx.get(proxy.base_url + "/__mock__/requests").json()["requests"]
        assert [e["path"] for e in journal] == ["/v1/conversations/endless", "/v1/conversations/small"]
