"""Issue #10, reproduced against a real mock process and shown fixed, item by item.

1 persistence never gives up quietly · 2 the control plane is only for the local user ·
3 bounded memory · 4 data that would break the mock is refused · 6 reset keys, client
disconnects. (5, chaos validation, and the journal items belong to the journal/chaos work.)
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.api.body import deeper_than
from mockserver.config import CONTROL_TOKEN_ENV
from tests.browser import headless_args, require_chromium
from tests.conftest import MockProcess

ALICE = {"Authorization": "Bearer demo-alice"}
JSON = {"Content-Type": "application/json"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def raw_exchange(base_url: str, head: bytes, body: bytes = b"", chunk: int = 64 * 1024) -> tuple[int, bytes]:
    """Send bytes as they are (what httpx would refuse to), return the status and body."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        data = head + body
        try:
            for start in range(0, len(data), chunk):
                sock.sendall(data[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before we finished: read what it said
        received = b""
        try:
            while piece := sock.recv(65536):
                received += piece
        except ConnectionResetError:
            pass
    status = int(received.split(b" ", 2)[1])
    return status, received.partition(b"\r\n\r\n")[2]


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


# 1. Persistence never gives up quietly ------------------------------------------------


def test_a_failed_save_is_reported_retried_and_recovers(spawn_mock: Any, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    state = folder / "state.json"
    folder.mkdir()
    mock = spawn_mock("--state-file", str(state))
    url = mock.base_url
    # A new state file is written with the starting data at once.
    assert wait_for(lambda: httpx.get(url + "/__mock__/health").json()["persistence"]["lastSavedAt"] is not None)
    first_save = httpx.get(url + "/__mock__/health").json()["persistence"]
    assert first_save["ok"] is True and state.exists()

    # The folder vanishes and a file takes its name: no save can succeed now.
    shutil.rmtree(folder)
    folder.write_text("in the way")
    created = httpx.post(url + "/v1/conversations", json={"title": "during the outage"}, headers=ALICE)
    assert created.status_code == 201
    assert wait_for(lambda: httpx.get(url + "/__mock__/health").status_code == 503)
    health = httpx.get(url + "/__mock__/health").json()
    assert health["persistence"]["ok"] is False and health["persistence"]["error"]
    assert health["persistence"]["lastSavedAt"] == first_save["lastSavedAt"]  # nothing saved since
    assert wait_for(lambda: any("cannot save state" in line for line in mock.output))

    # The folder is back: the retry writes the latest state, including the write made meanwhile.
    folder.unlink()
    folder.mkdir()
    assert wait_for(lambda: httpx.get(url + "/__mock__/health").status_code == 200, timeout=15)
    health = httpx.get(url + "/__mock__/health").json()
    assert health["persistence"] == {"ok": True, "error": None, "lastSavedAt": health["persistence"]["lastSavedAt"]}
    assert health["persistence"]["lastSavedAt"]
    saved = json.loads(state.read_text())
    assert created.json()["id"] in [c["id"] for c in saved["tenants"]["demo-alice"]["runtype"]]

    assert mock.stop() == 0
    assert "Application shutdown failed" not in "".join(mock.output)
    assert any("state saved to" in line for line in mock.output)


def test_shutdown_says_when_the_final_save_failed(spawn_mock: Any, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    mock = spawn_mock("--state-file", str(folder / "state.json"))
    # The folder (made at the start, to hold the lock) vanishes and a file takes its name.
    shutil.rmtree(folder)
    folder.write_text("in the way")
    assert httpx.post(mock.base_url + "/v1/conversations", json={}, headers=ALICE).status_code == 201
    assert mock.stop() == 1
    output = "".join(mock.output)
    assert "Application shutdown failed" not in output
    assert "final save to" in output and "failed" in output


def test_data_that_could_not_be_saved_is_refused_when_it_arrives(spawn_mock: Any, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    mock = spawn_mock("--state-file", str(state))
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"d": deep}
    data = {"tenants": {"demo-alice": {"systemprompt": [{"metadata": {"title": "x", "deep": deep}}]}}}
    response = httpx.put(mock.base_url + "/__mock__/state", json=data)
    assert response.status_code == 400
    assert "systemprompt[0].metadata.deep" in response.json()["message"]
    assert "64 levels" in response.json()["message"]
    # An API write as deep is refused the same way.
    too_deep = httpx.post(mock.base_url + "/v1/conversations", json={"metadata": deep}, headers=ALICE)
    assert too_deep.status_code == 400 and too_deep.json()["error"] == "too_deep"
    assert httpx.get(mock.base_url + "/__mock__/health").json()["persistence"]["ok"] is True
    assert httpx.get(mock.base_url + "/__mock__/state").status_code == 200


def test_a_symlinked_state_file_stays_a_symlink(spawn_mock: Any, tmp_path: Path) -> None:
    target = tmp_path / "real" / "state.json"
    target.parent.mkdir()
    link = tmp_path / "state.json"
    link.symlink_to(target)
    mock = spawn_mock("--state-file", str(link))
    cid = httpx.post(mock.base_url + "/v1/conversations", json={"title": "via link"}, headers=ALICE).json()["id"]
    assert mock.stop() == 0
    assert link.is_symlink()
    assert cid in [c["id"] for c in json.loads(target.read_text())["tenants"]["demo-alice"]["runtype"]]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("null", "does not hold a state object"),
        ("[1, 2]", "does not hold a state object"),
        ('{"tenants": {"k": {"runtype": [{"updatedAt": "9999-12-31T23:59:59.999999Z"}]}}}', "runtype[0].updatedAt"),
    ],
)
def test_a_state_file_that_is_not_a_valid_state_stops_the_start(tmp_path: Path, content: str, expected: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--port", "0", "--state-file", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr
    assert state.read_text() == content  # never overwritten


# 2. The control plane is only for the local user --------------------------------------


def test_a_foreign_host_is_refused_on_every_route(mock: Any) -> None:
    for method, path in [("GET", "/__mock__/state"), ("GET", "/v1/conversations"), ("POST", "/__mock__/reset")]:
        response = httpx.request(method, mock.base_url + path, headers={**ALICE, "Host": "evil.example:8000"})
        assert response.status_code == 421, path
        assert response.json()["error"] == "misdirected_request"
        assert "--allowed-host" in response.json()["message"]
    for host in ("localhost", "127.0.0.1:1", "LOCALHOST:9"):
        assert httpx.get(mock.base_url + "/__mock__/health", headers={"Host": host}).status_code == 200


def test_allowed_host_adds_names(spawn_mock: Any) -> None:
    mock = spawn_mock("--allowed-host", "mock.test")
    assert httpx.get(mock.base_url + "/__mock__/health", headers={"Host": "mock.test:80"}).status_code == 200
    assert httpx.get(mock.base_url + "/__mock__/health", headers={"Host": "other.test"}).status_code == 421


def test_a_cross_site_form_post_cannot_change_state(mock: Any) -> None:
    cid = httpx.post(mock.base_url + "/v1/conversations", json={"title": "keep"}, headers=ALICE).json()["id"]
    attempts = [
        {"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
        {"Origin": "https://evil.example", "Content-Type": "application/json"},
        {"Origin": "http://localhost:3000", "Content-Type": "text/plain"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ]
    for headers in attempts:
        response = httpx.post(mock.base_url + "/__mock__/reset", headers=headers, content=b"a=b")
        assert response.status_code == 403, headers
        assert response.json()["error"] == "forbidden"
    assert httpx.get(f"{mock.base_url}/v1/conversations/{cid}", headers=ALICE).status_code == 200
    # What the developer and the fixtures send still works.
    allowed = {"Origin": "http://localhost:3000", **JSON}
    assert httpx.post(mock.base_url + "/__mock__/reset", headers=allowed).status_code == 200
    assert httpx.post(mock.base_url + "/__mock__/reset").status_code == 200  # curl -X POST, no body


def test_the_mocks_own_pages_may_change_state_whatever_cors_allows(spawn_mock: Any) -> None:
    # The dashboard's buttons are same-origin requests: a narrow --cors-origin must not break them.
    mock = spawn_mock("--cors-origin", "http://localhost:3000")
    own = {"Origin": mock.base_url, **JSON}
    assert httpx.post(mock.base_url + "/__mock__/reset", headers=own).status_code == 200
    other = {"Origin": "http://localhost:4000", **JSON}
    assert httpx.post(mock.base_url + "/__mock__/reset", headers=other).status_code == 403


def test_no_redirects_on_the_control_plane(mock: Any) -> None:
    for path in ("/__mock__/health/", "/__mock__/state/", "/__mock__/requests/"):
        response = httpx.get(mock.base_url + path, headers={"Host": "localhost"})
        assert response.status_code == 404, path
        assert "location" not in response.headers and response.json()["error"] == "not_found"


def test_links_and_servers_never_come_from_the_host_header(mock: Any, spawn_mock: Any) -> None:
    uuid = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
    headers = {"api-key": "demo-alice", "Host": "localhost:1"}
    got = httpx.get(f"{mock.base_url}/v1/conversation/{uuid}", headers=headers).json()
    assert got["_link"] == f"{mock.base_url}/v1/conversation/{uuid}"
    spec = httpx.get(mock.base_url + "/__mock__/openapi/systemprompt", headers={"Host": "localhost:1"}).json()
    assert spec["servers"][0]["url"] == mock.base_url

    public = spawn_mock("--public-url", "https://mock.example/base/")
    got = httpx.get(f"{public.base_url}/v1/conversation/{uuid}", headers={"api-key": "demo-alice"}).json()
    assert got["_link"] == f"https://mock.example/base/v1/conversation/{uuid}"
    spec = httpx.get(public.base_url + "/__mock__/openapi/runtype").json()
    assert spec["servers"][0]["url"] == "https://mock.example/base"


def test_a_non_loopback_host_warns_and_the_control_token_protects(spawn_mock: Any) -> None:
    open_mock = spawn_mock("--host", "0.0.0.0")
    assert wait_for(lambda: any("UNAUTHENTICATED" in line for line in open_mock.output), timeout=5)

    os.environ[CONTROL_TOKEN_ENV] = "s3cret-token"
    try:
        guarded = TokenMockProcess("--host", "0.0.0.0")
    finally:
        del os.environ[CONTROL_TOKEN_ENV]
    url = guarded.base_url
    assert wait_for(lambda: any("protected by --control-token" in line for line in guarded.output), timeout=5)
    assert httpx.get(url + "/__mock__/state").status_code == 401
    assert httpx.get(url + "/__mock__/state", headers={"Authorization": "Bearer wrong"}).status_code == 401
    token = {"Authorization": "Bearer s3cret-token"}
    assert httpx.get(url + "/__mock__/state", headers=token).status_code == 200
    assert httpx.post(url + "/__mock__/reset", headers=token).status_code == 200
    assert httpx.get(url + "/v1/conversations", headers=ALICE).status_code == 200  # the APIs keep their keys
    assert guarded.stop() == 0
    assert not any("s3cret-token" in line for line in guarded.output)


class TokenMockProcess(MockProcess):
    """A mock whose control plane wants a token: up once health answers at all."""

    def _wait_until_healthy(self) -> None:
        def answers() -> bool:
            try:
                return httpx.get(f"{self.base_url}/__mock__/health", timeout=1).status_code == 401
            except httpx.TransportError:
                return False

        if not wait_for(answers):
            self.proc.kill()  # the constructor fails: nobody else would stop it
            raise RuntimeError("the token-protected mock never answered")


# 3. Bounded memory ---------------------------------------------------------------------


def test_huge_headers_get_431_and_cost_no_memory(spawn_mock: Any) -> None:
    mock = spawn_mock()
    before = rss_kib(mock.proc.pid)
    filler = b"x" * (8 * 1024 * 1024)
    for _ in range(20):
        head = b"GET /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + filler + b"\r\n\r\n"
        status, body = raw_exchange(mock.base_url, head)
        assert status == 431 and json.loads(body)["error"] == "request_header_fields_too_large"
    growth_mib = (rss_kib(mock.proc.pid) - before) / 1024
    # 20 × 8 MB went in; a bounded head keeps at most ~64 KB plus one read buffer per request.
    assert growth_mib < 16, f"RSS grew {growth_mib:.1f} MiB"
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(300))
    status, body = raw_exchange(
        mock.base_url, b"GET /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n"
    )
    assert status == 431 and "too many request headers" in json.loads(body)["message"]
    assert httpx.get(mock.base_url + "/v1/conversations", headers=ALICE).status_code == 200


def test_put_state_has_a_size_cap(mock: Any) -> None:
    head = (
        b"PUT /__mock__/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    status, body = raw_exchange(mock.base_url, head)
    assert status == 413 and json.loads(body)["error"] == "payload_too_large"


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_TRICKY = st.text(alphabet='[]{}"\\ab\n')
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TRICKY,
    lambda inner: st.lists(inner) | st.dictionaries(_TRICKY, inner),
    max_leaves=40,
)


@given(_JSON, st.integers(0, 8))
def test_the_depth_check_on_the_text_agrees_with_the_parsed_value(value: Any, limit: int) -> None:
    # Strings full of brackets, quotes and backslashes must not count as nesting.
    assert deeper_than(orjson.dumps(value), limit) == (_depth(value) > limit)


def test_the_depth_check_stops_at_the_limit() -> None:
    chain = b"[" * 100_000 + b"]" * 100_000
    assert deeper_than(chain, 64)
    assert not deeper_than(b"[" * 64 + b"]" * 64, 64)
    wide = orjson.dumps([[{"a": [1, "]]]"]}] for _ in range(100_000)])  # 1.7 MB, many brackets, depth 4
    assert not deeper_than(wide, 4) and deeper_than(wide, 3)


# 4. Data that would break the mock is refused ------------------------------------------


def test_far_future_timestamps_are_refused_and_the_clock_never_overflows(mock: Any) -> None:
    late = "9999-12-31T23:59:59.999999Z"
    data = {"tenants": {"demo-alice": {"runtype": [{"title": "t", "createdAt": late, "updatedAt": late}]}}}
    response = httpx.put(mock.base_url + "/__mock__/state", json=data)
    assert response.status_code == 400 and "runtype[0].createdAt" in response.json()["message"]
    assert httpx.get(mock.base_url + "/v1/conversations/conv_demo1_1", headers=ALICE).status_code == 200

    latest = "9000-12-31T23:59:59Z"  # the latest accepted: the clock runs on from it, still moving
    data = {"tenants": {"demo-alice": {"runtype": [{"title": "t", "createdAt": latest, "updatedAt": latest}]}}}
    assert httpx.put(mock.base_url + "/__mock__/state", json=data).status_code == 200
    created = httpx.post(mock.base_url + "/v1/conversations", json={}, headers=ALICE).json()
    path = f"{mock.base_url}/v1/conversations/{created['id']}"
    stamps = [httpx.put(path, json={"title": str(n)}, headers=ALICE).json()["updatedAt"] for n in range(3)]
    assert created["createdAt"] > latest.replace("Z", ".000000Z") and stamps == sorted(set(stamps))
    # A reset brings the clock back from the far future: new data is stamped with today's time.
    assert httpx.post(mock.base_url + "/__mock__/reset").status_code == 200
    fresh = httpx.post(mock.base_url + "/v1/conversations", json={}, headers=ALICE).json()
    assert fresh["createdAt"] < "3000"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("tenants:\n  k:\n    systemprompt:\n      - metadata: {title: t, 1: one}\n", "key 1 is not a string"),
        ("tenants:\n  k:\n    systemprompt:\n      - metadata: {title: t, n: 123456789012345678901234}\n", "64-bit"),
        ("tenants:\n  k:\n    systemprompt:\n      - metadata: {title: t, when: 2024-01-01}\n", "not a JSON value"),
        ("tenants:\n  k:\n    systemprompt:\n      - metadata: {title: t, x: .nan}\n", "not a JSON number"),
    ],
)
def test_seed_data_orjson_cannot_write_is_refused_at_start(tmp_path: Path, yaml_text: str, expected: str) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml_text)
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--port", "0", "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "tenant #1 systemprompt[0].metadata" in result.stderr and expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# 6. Smaller ones -----------------------------------------------------------------------


def test_reset_restores_exactly_the_seeds_keys(mock: Any) -> None:
    data = {"tenants": {"added-by-state": {"runtype": [{"title": "t"}]}}}
    assert httpx.put(mock.base_url + "/__mock__/state", json=data).status_code == 200
    added = {"Authorization": "Bearer added-by-state"}
    assert httpx.get(mock.base_url + "/v1/conversations", headers=added).status_code == 200
    assert httpx.post(mock.base_url + "/__mock__/reset").status_code == 200
    assert httpx.get(mock.base_url + "/v1/conversations", headers=added).status_code == 401
    assert httpx.get(mock.base_url + "/v1/conversations", headers=ALICE).status_code == 200


def test_a_client_disconnect_mid_body_is_quiet(spawn_mock: Any) -> None:
    mock = spawn_mock("--log-level", "debug")
    host, port = mock.base_url.removeprefix("http://").rsplit(":", 1)
    starts = [
        b"POST /v1/conversations HTTP/1.1\r\nAuthorization: Bearer demo-alice\r\n",
        b"PUT /__mock__/state HTTP/1.1\r\n",  # the control plane reads bodies too
        b"POST /v1/conversations HTTP/1.1\r\nAuthorization: Bearer demo-alice\r\n",
    ]
    for start in starts:
        with socket.create_connection((host, int(port))) as sock:
            rest = b'Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"a": '
            sock.sendall(start + rest)
            time.sleep(0.1)
    assert httpx.get(mock.base_url + "/v1/conversations", headers=ALICE).status_code == 200
    assert mock.stop() == 0
    output = "".join(mock.output)
    assert "Traceback" not in output and "unhandled error" not in output
    assert output.count("client went away mid-request") == 3


# Rebinding and cross-site attempts from a real browser ---------------------------------


def _chromium_dom(url: str, *flags: str) -> str:
    chromium = require_chromium()
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                chromium,
                *headless_args(profile),
                "--virtual-time-budget=5000",
                *flags,
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
    return result.stdout


@pytest.fixture
def attacker_page() -> Iterator[Any]:
    """`serve(html)` → a URL on http://localhost:PORT (another origin than the mock's)."""
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def serve(html: str) -> str:
        pages["/"] = html.encode()
        return f"http://localhost:{server.server_address[1]}/"

    yield serve
    server.shutdown()
    server.server_close()


def test_browser_dns_rebinding_reads_nothing(mock: Any) -> None:
    port = mock.base_url.rsplit(":", 1)[1]
    # The resolver rule plays the rebinding DNS server: evil.example now points at 127.0.0.1.
    dom = _chromium_dom(
        f"http://evil.example:{port}/__mock__/state", "--host-resolver-rules=MAP evil.example 127.0.0.1"
    )
    assert "misdirected_request" in dom, dom[:500]
    assert "demo-alice" not in dom and "conv_demo1_1" not in dom


def test_browser_cross_site_form_post_is_refused(mock: Any, attacker_page: Any) -> None:
    cid = httpx.post(mock.base_url + "/v1/conversations", json={"title": "keep"}, headers=ALICE).json()["id"]
    page = attacker_page(
        f'<form method="post" enctype="text/plain" action="{mock.base_url}/__mock__/reset">'
        '<input name="a" value="b"></form><script>document.forms[0].submit()</script>'
    )
    dom = _chromium_dom(page)
    # The browser landed on the mock's answer: the post arrived and was refused.
    assert "may not change the mock" in dom or "a web form cannot send that" in dom, dom[:500]
    assert httpx.get(f"{mock.base_url}/v1/conversations/{cid}", headers=ALICE).status_code == 200


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--public-url", "ftp://mock.example"], "--public-url must start with http:// or https://"),
        (["--control-token", " "], "--control-token (or CONVO_MOCK_CONTROL_TOKEN) must be non-empty"),
    ],
)
def test_bad_hardening_flags_are_one_line_errors(args: list[str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--port", "0", *args], capture_output=True, text=True, timeout=60
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1
    assert lines[0].startswith("convo-mock: error: ") and expected in lines[0]
