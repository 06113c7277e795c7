"""Issue #10's leftovers, against real mock processes: Ctrl-C at any moment of the start,
chaos flags held to the control plane's rules, integers in ASCII digits only, one Host."""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

import httpx
import pytest

from mockserver.integers import ascii_int
from tests.conftest import MockProcess

ALICE = {"Authorization": "Bearer demo-alice"}
ALICE_SP = {"api-key": "demo-alice"}


def raw_exchange(base_url: str, head: bytes) -> tuple[int, dict[str, Any] | None]:
    """Send a request head as it is (httpx merges repeated headers); the status and JSON body."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        received = b""
        while piece := sock.recv(65536):
            received += piece
    status = int(received.split(b" ", 2)[1])
    body = received.partition(b"\r\n\r\n")[2]
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


# 3. Integers from request text: ASCII digits only ------------------------------------

NOT_ASCII_INTEGERS = ["２０", "٣", "2_0", " 7", "7 ", "²", "1\n"]


def test_ascii_int_reads_ascii_digits_only() -> None:
    assert ascii_int("0020") == 20
    assert ascii_int("-5", signed=True) == -5 and ascii_int("+5", signed=True) == 5
    assert ascii_int("-5") is None
    for text in [*NOT_ASCII_INTEGERS, "", "+", "1e3", "9" * 5000]:
        assert ascii_int(text) is None, text
        assert ascii_int(text, signed=True) is None, text


@pytest.mark.parametrize("value", NOT_ASCII_INTEGERS)
def test_query_integers_in_other_scripts_are_a_400_naming_the_parameter(mock: MockProcess, value: str) -> None:
    runtype = httpx.get(f"{mock.base_url}/v1/conversations", params={"limit": value}, headers=ALICE)
    systemprompt = httpx.get(f"{mock.base_url}/v1/conversation", params={"limit": value}, headers=ALICE_SP)
    journal = httpx.get(f"{mock.base_url}/__mock__/requests", params={"limit": value})
    since = httpx.get(f"{mock.base_url}/__mock__/requests", params={"since": value})
    tenant = httpx.get(f"{mock.base_url}/__mock__/tenants").json()["tenants"][0]["tenant"]
    dashboard = httpx.get(f"{mock.base_url}/__mock__/tenants/{tenant}/runtype", params={"offset": value})
    for response, name in [
        (runtype, "limit"),
        (systemprompt, "limit"),
        (journal, "limit"),
        (since, "since"),
        (dashboard, "offset"),
    ]:
        assert response.status_code == 400, (response.request.url, response.text)
        assert name in response.json()["message"], response.text
    # The ASCII twins are fine: the refusal is about the digits, not the values.
    assert httpx.get(f"{mock.base_url}/v1/conversations", params={"limit": "20"}, headers=ALICE).status_code == 200
    assert httpx.get(f"{mock.base_url}/__mock__/requests", params={"limit": "20"}).status_code == 200


def test_journal_status_filter_wants_ascii_digits(mock: MockProcess) -> None:
    for value in ("４０４", "4٠4", "4²4"):
        response = httpx.get(f"{mock.base_url}/__mock__/requests", params={"status": value})
        assert response.status_code == 400 and "status" in response.json()["message"], value


@pytest.mark.parametrize(
    "prefer",
    # Latin-1 superscripts are `isdigit()` but not `int()`: they were a 500.
    [b"code=\xb2\xb2\xb2", b"delay=\xb9", b"retry-after=\xb3", b"body-ms=\xb2", b"code=5\xb2\xb2"],
)
def test_prefer_numbers_in_other_scripts_are_a_400(mock: MockProcess, prefer: bytes) -> None:
    response = httpx.get(f"{mock.base_url}/v1/conversations", headers={**ALICE, "Prefer": prefer})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_prefer" and "Prefer" in body["message"]


def test_full_width_prefer_code_is_refused(mock: MockProcess) -> None:
    # What a client writes as "５００" reaches the mock as UTF-8 bytes; decoded any way, not a status.
    head = (
        "GET /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-alice\r\n"
        "Prefer: code=５００\r\nConnection: close\r\n\r\n"
    ).encode()
    status, body = raw_exchange(mock.base_url, head)
    assert status == 400 and body is not None and "Prefer" in body["message"]


def test_a_cursor_with_other_digits_is_not_read_as_its_ascii_twin(mock: MockProcess) -> None:
    def page(seq: str) -> list[Any]:
        cursor = base64.urlsafe_b64encode(f"c1.{seq}".encode()).decode().rstrip("=")
        response = httpx.get(f"{mock.base_url}/v1/conversations", params={"cursor": cursor}, headers=ALICE)
        assert response.status_code == 200, response.text
        return list(response.json()["conversations"])

    # Any string is a cursor the spec allows; one the mock never issued is an empty last page.
    assert page("999999") != [] and page("９９９９９９") == []


def test_content_length_in_other_digits_is_refused(mock: MockProcess) -> None:
    head = (
        "POST /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-alice\r\n"
        "Content-Type: application/json\r\nContent-Length: ２\r\nConnection: close\r\n\r\n{}"
    ).encode()
    status, _ = raw_exchange(mock.base_url, head)
    assert 400 <= status < 500


# 4. Exactly one Host ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/conversations", "/__mock__/health", "/__mock__/state", "/no/such/path"])
def test_two_host_headers_are_a_400_on_every_route(mock: MockProcess, path: str) -> None:
    port = mock.base_url.rsplit(":", 1)[1]
    for hosts in (
        [f"127.0.0.1:{port}", "evil.example"],
        [f"127.0.0.1:{port}", f"localhost:{port}"],  # both allowed, still two
        ["evil.example", f"127.0.0.1:{port}"],
    ):
        lines = "".join(f"Host: {host}\r\n" for host in hosts)
        head = f"GET {path} HTTP/1.1\r\n{lines}Authorization: Bearer demo-alice\r\nConnection: close\r\n\r\n"
        status, body = raw_exchange(mock.base_url, head.encode())
        assert status == 400, (path, hosts, status, body)
        assert body is not None and "Host" in body["message"], body


@pytest.mark.parametrize("path", ["/v1/conversations", "/__mock__/health"])
def test_a_host_list_is_a_400(mock: MockProcess, path: str) -> None:
    port = mock.base_url.rsplit(":", 1)[1]
    for value in (f"127.0.0.1:{port}, evil.example", f"127.0.0.1:{port},localhost"):
        head = f"GET {path} HTTP/1.1\r\nHost: {value}\r\nAuthorization: Bearer demo-alice\r\nConnection: close\r\n\r\n"
        status, body = raw_exchange(mock.base_url, head.encode())
        assert status == 400 and body is not None and "Host" in body["message"], (value, status, body)
    one = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer demo-alice\r\n"
    assert raw_exchange(mock.base_url, (one + "Connection: close\r\n\r\n").encode())[0] == 200
