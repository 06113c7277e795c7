"""Issue #10's leftovers, against real mock processes: 1 Ctrl-C at any moment of the start,
2 chaos flags held to the control plane's rules, 3 integers in ASCII digits only, 4 one Host."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.cli import build_parser, config_from_args
from mockserver.interrupt import INTERRUPTED
from specs.integers import ascii_int
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


# 1. Ctrl-C at any moment ends quietly -------------------------------------------------


def _wait_for_handler(pid: int) -> None:
    # Python's own start-up (site, runpy) precedes the mock's first line, and a Ctrl-C there
    # is Python's to report. orjson is first loaded by `mockserver.cli`, which __main__
    # imports only after interrupt.starting(): once it is mapped, the mock's handler is in.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if "orjson" in Path(f"/proc/{pid}/maps").read_text():
                return
        time.sleep(0.001)
    raise AssertionError("the mock did not start importing within 30 s")


def interrupt_after(delay: float | None, state_file: Path) -> tuple[int, str, str]:
    """Start `python -m mockserver`, SIGINT it `delay` s after its own Ctrl-C handling is in
    place (None: once its banner is out); its exit status, stdout and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "--port", "0", "--state-file", str(state_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = ""
    if delay is None:
        first = proc.stdout.readline()
    else:
        _wait_for_handler(proc.pid)
        time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"still running 30 s after SIGINT: {err[-500:]}") from None
    return proc.returncode, first + out, err


def test_ctrl_c_at_any_moment_of_the_start_ends_quietly(tmp_path: Path) -> None:
    # Staggered over the imports, the seed, binding and the hand-over to uvicorn; None:
    # after the banner, a plain stop.
    delays: list[float | None] = [0.0, 0.0, *(0.01 + 0.07 * i for i in range(15)), 1.2, 1.5, None]
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda args: interrupt_after(*args), [(d, tmp_path / f"s{i}.json") for i, d in enumerate(delays)])
        )
    outcomes = []
    for index, (delay, (code, out, err)) in enumerate(zip(delays, results, strict=True)):
        state_file = tmp_path / f"s{index}.json"
        assert "Traceback" not in err and "Error" not in err, (delay, err)
        assert len(err.splitlines()) <= 1, (delay, err)
        if "convo-mock serving" in out:
            # Once the banner is out, Ctrl-C is a clean stop: the final save, its one line, exit 0.
            assert code == 0, (delay, code, err)
            assert err.strip() == f"convo-mock: state saved to {state_file}" and state_file.is_file()
            outcomes.append("stopped")
        else:
            # Before it: nothing served or saved, nothing printed, exit 130.
            assert code == INTERRUPTED, (delay, code, err)
            assert err == "" and not state_file.exists(), (delay, err)
            outcomes.append("interrupted")
    assert "stopped" in outcomes and "interrupted" in outcomes, outcomes


# 2. Chaos flags obey the control plane's rules -----------------------------------------

# A flag's bad value, and the same value as PUT /__mock__/chaos would carry it.
BAD_CHAOS_FLAGS = [
    ("--latency", "1e20", {"latency_ms": 1e20}),
    ("--latency", "-1", {"latency_ms": -1}),
    ("--latency", "1.5", {"latency_ms": 1.5}),
    ("--latency", "true", {"latency_ms": True}),
    ("--latency", "60001", {"latency_ms": 60001}),
    ("--latency", "２０", {"latency_ms": "２０"}),
    ("--error-rate", "2", {"error_rate": 2}),
    ("--error-rate", "true", {"error_rate": True}),
    ("--error-rate", "nan", {"error_rate": "nan"}),
    ("--random-seed", "1e300", {"random_seed": 1e300}),
    ("--random-seed", "-1", {"random_seed": -1}),
    ("--random-seed", "false", {"random_seed": False}),
    ("--random-seed", "18446744073709551616", {"random_seed": 2**64}),
    ("--fault", "status=５０３", {"faults": [{"status": "５０３"}]}),
    ("--fault", "status=503,times=true", {"faults": [{"status": 503, "times": True}]}),
    ("--fault", "fault=reset,rate=2", {"faults": [{"fault": "reset", "rate": 2}]}),
    ("--fault", "status=503,retry_after=1e9", {"faults": [{"status": 503, "retry_after": 1e9}]}),
]


@pytest.mark.parametrize(("flag", "value", "put"), BAD_CHAOS_FLAGS, ids=[f"{f}={v}" for f, v, _ in BAD_CHAOS_FLAGS])
def test_a_bad_chaos_flag_is_one_line_and_exit_2_like_the_control_plane_400(
    mock: MockProcess, flag: str, value: str, put: dict[str, Any]
) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mockserver", "--port", "0", flag, value],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{flag} {value} was accepted: the mock started") from None
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("convo-mock: error: ") and flag in done.stderr, done.stderr
    # The same value through the control plane: refused as well, and nothing applied.
    before = httpx.get(f"{mock.base_url}/__mock__/chaos").json()
    refused = httpx.put(
        f"{mock.base_url}/__mock__/chaos", content=json.dumps(put), headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 400, refused.text
    assert httpx.get(f"{mock.base_url}/__mock__/chaos").json() == before


def test_chaos_flags_take_what_the_control_plane_takes() -> None:
    args = [
        "--latency",
        "60000",
        "--error-rate",
        "1",
        "--random-seed",
        str(2**64 - 1),
        "--fault",
        "status=503,rate=0.5",
    ]
    config = config_from_args(build_parser().parse_args(args))
    assert (config.latency_ms, config.error_rate, config.random_seed) == (60000, 1.0, 2**64 - 1)
    assert type(config.error_rate) is float


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
    headers = [(b"Authorization", b"Bearer demo-alice"), (b"Prefer", prefer)]
    response = httpx.get(f"{mock.base_url}/v1/conversations", headers=headers)
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


@pytest.mark.parametrize("value", ["１", "2٫5", "true", "nan", "-1", "0"])
def test_a_bad_upstream_timeout_is_one_line_and_exit_2(value: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockserver",
            "--port",
            "0",
            "--upstream",
            "http://127.0.0.1:9",
            "--upstream-timeout",
            value,
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.strip() == "convo-mock: error: --upstream-timeout must be a finite number of seconds above 0"
