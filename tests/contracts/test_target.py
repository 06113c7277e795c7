"""The suite's client talks to the base URL's origin and nothing else; keys never leak."""

import contextlib
import resource
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from contracts.target import (
    MAX_RESPONSE_BYTES,
    Client,
    DeadlinePassed,
    OffTargetRequest,
    Target,
    auth_headers,
    origin_of,
    request_curl,
)
from specs.redact import Redactor


def test_requests_to_another_host_are_refused_before_sending() -> None:
    client = Client(Target(base_url="http://127.0.0.1:9/base", api_key="k"), "runtype")
    for url in ("http://example.com/v1/conversations", "https://127.0.0.1:9/v1/conversations", "http://127.0.0.1:10/x"):
        with pytest.raises(OffTargetRequest):
            client.send("GET", url)
    client.close()


def test_auth_headers_follow_each_specs_security_scheme() -> None:
    assert auth_headers("runtype", "k") == {"Authorization": "Bearer k"}
    assert auth_headers("systemprompt", "k") == {"api-key": "k"}
    assert auth_headers("runtype", None) == {}


def test_curl_redacts_credentials_wherever_they_appear() -> None:
    redact = Redactor(["sekrit-key"])
    request = httpx.Request(
        "POST",
        "http://127.0.0.1/v1/conversations?note=sekrit-key",
        headers={"Authorization": "Bearer sekrit-key", "X-Trace": "sekrit-key"},
        json={"title": "it's sekrit-key"},
    )
    curl = request_curl(request, redact)
    assert "sekrit-key" not in curl
    assert "Authorization: Bearer [REDACTED]" in curl and curl.startswith("curl -X POST")


# --- keys, origins, and a budget per request ------------------------------------------


def test_keys_are_redacted_in_every_repr_but_usable_as_headers() -> None:
    target = Target(base_url="http://h", api_key="sekrit-1", other_key="sekrit-2", run_secrets=("sekrit-3",))
    shown = repr(target) + repr(target.api_key) + repr([target.other_key]) + repr(target.run_secrets)
    assert "sekrit" not in shown and "[REDACTED]" in shown
    assert auth_headers("runtype", target.api_key) == {"Authorization": "Bearer sekrit-1"}
    assert type(str(target.api_key)) is str and f"{target.api_key}" == "sekrit-1"
    assert target.redactor("a sekrit-3 b") == "a [REDACTED] b"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://h:443/x", "https://h"),
        ("HTTP://API.Example.COM:80", "http://api.example.com/"),
        ("http://user:pw@h:8080/p", "http://h:8080"),
        ("http://[::1]:8000", "http://[::1]:8000/v"),
    ],
)
def test_origins_compare_normalised(a: str, b: str) -> None:
    assert origin_of(a) == origin_of(b)


def test_different_origins_stay_different() -> None:
    assert origin_of("https://h") != origin_of("http://h")
    assert origin_of("https://h:8443") != origin_of("https://h")


def _raw_server(respond: Callable[[socket.socket], None]) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                with contextlib.suppress(OSError):
                    respond(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture
def dripping_server() -> Iterator[str]:
    def drip(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            conn.sendall(b" ")
            time.sleep(0.1)

    yield from _raw_server(drip)


@pytest.fixture
def gzip_bomb_server() -> Iterator[str]:
    # 64 MiB of zeros, compressed a megabyte at a time: the test's own peak memory stays low.
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    megabyte = b"\0" * (1024 * 1024)
    bomb = b"".join(packer.compress(megabyte) for _ in range(64)) + packer.flush()

    def explode(conn: socket.socket) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        conn.sendall(f"{head}Content-Length: {len(bomb)}\r\n\r\n".encode() + bomb)

    yield from _raw_server(explode)


def test_a_server_dripping_bytes_cannot_hold_a_request_past_its_timeout(dripping_server: str) -> None:
    client = Client(Target(base_url=dripping_server, api_key="k", timeout=1.0), "runtype")
    exchange = client.send("GET", "/v1/conversations")
    client.close()
    assert exchange.response is None
    assert exchange.error is not None and "not complete within 1 s" in exchange.error


def test_a_gzip_bomb_is_a_failed_exchange_not_gigabytes(gzip_bomb_server: str) -> None:
    client = Client(Target(base_url=gzip_bomb_server, api_key="k"), "runtype")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    exchange = client.send("GET", "/v1/conversations")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    client.close()
    assert exchange.response is None
    assert exchange.error is not None and f"over {MAX_RESPONSE_BYTES} bytes" in exchange.error
    # Peak memory grew by about the cap, not by the 64 MiB the bomb inflates to.
    assert grown_kib < 40 * 1024


def test_the_run_deadline_stops_requests() -> None:
    target = Target(base_url="http://127.0.0.1:9", api_key="k", deadline=time.monotonic() - 1)
    client = Client(target, "runtype")
    with pytest.raises(DeadlinePassed):
        client.send("GET", "/v1/conversations")
    client.close()


def _compressed(coding: str, text: bytes) -> bytes:
    if coding == "gzip":
        return zlib.compress(text, wbits=zlib.MAX_WBITS | 16)
    return zlib.compress(text) if coding == "deflate" else text


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_compressed_answers_are_read_by_the_one_inflater(coding: str) -> None:
    """gzip and deflate are inflated (specs.inflate); a coding the client never asked for is
    no answer to judge, never handed to a decoder without a bound."""
    body = _compressed(coding, b'{"conversations": []}')

    def answer(conn: socket.socket) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {coding}\r\n"
        conn.sendall(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)

    with contextlib.contextmanager(_raw_server)(answer) as url:
        client = Client(Target(base_url=url, api_key="k"), "runtype")
        exchange = client.send("GET", "/v1/conversations")
        client.close()
    if coding == "br":
        assert exchange.response is None and "could not be decompressed" in (exchange.error or "")
    else:
        assert exchange.response is not None and exchange.response.json() == {"conversations": []}
