"""What frontend developers expect of a mock: forced responses, latency, chaos, CORS, 405/404."""

import time
from typing import Any

import httpx

from tests.conftest import ALICE, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}


def test_prefer_code_forces_a_documented_error(clients: Any) -> None:
    rt = clients("runtype")
    forced = rt.get("/v1/conversations/conv_demo1_1", headers={"Prefer": "code=404"})
    assert forced.status_code == 404 and forced.json()["error"] == "forced"
    assert rt.get("/v1/conversations", headers={"Prefer": "code=500"}).status_code == 500
    # Forced errors do not touch state.
    assert rt.delete("/v1/conversations/conv_demo1_1", headers={"Prefer": "code=403"}).status_code == 403
    assert rt.get("/v1/conversations/conv_demo1_1").status_code == 200


def test_prefer_code_undocumented_for_the_operation_is_400(clients: Any) -> None:
    rt = clients("runtype")
    response = rt.get("/v1/conversations", headers={"Prefer": "code=404"})  # list documents no 404
    assert response.status_code == 400 and "documented" in response.json()["message"]
    assert rt.get("/v1/conversations", headers={"Prefer": "code=banana"}).status_code == 400


def test_prefer_code_picks_among_documented_successes(clients: Any) -> None:
    rt = clients("runtype")
    created = rt.post("/v1/conversations", json={}, headers={"Prefer": "code=200"})
    assert created.status_code == 200 and created.json()["title"] == "New Chat"
    deleted = rt.delete(f"/v1/conversations/{created.json()['id']}", headers={"Prefer": "code=204"})
    assert deleted.status_code == 204 and deleted.content == b""
    assert rt.get(f"/v1/conversations/{created.json()['id']}").status_code == 404


def test_prefer_delay(mock: MockProcess) -> None:
    started = time.perf_counter()
    response = httpx.get(mock.base_url + "/v1/conversations", headers={**AUTH, "Prefer": "delay=300"})
    assert response.status_code == 200 and time.perf_counter() - started >= 0.3


def test_global_latency(spawn_mock: Any) -> None:
    slow = spawn_mock("--latency", "1500")
    assert httpx.get(slow.base_url + "/v1/conversations", headers=AUTH).status_code == 200
    # The control plane is never slowed: it answers, and reports the latency that applies.
    assert httpx.get(slow.base_url + "/__mock__/health").status_code == 200
    assert httpx.get(slow.base_url + "/__mock__/chaos").json()["latency_ms"] == 1500
    (entry,) = httpx.get(slow.base_url + "/__mock__/requests").json()["requests"]
    # The mock's own record of the request: it waited the configured latency.
    # uvloop's timers have millisecond resolution and may fire a fraction of one early.
    assert entry["path"] == "/v1/conversations" and entry["duration_ms"] >= 1499


def test_error_rate_is_reproducible_with_a_seed(spawn_mock: Any) -> None:
    def statuses(mock: MockProcess) -> list[int]:
        with httpx.Client(base_url=mock.base_url, headers=AUTH) as client:
            return [client.get("/v1/conversations").status_code for _ in range(40)]

    first = statuses(spawn_mock("--error-rate", "0.3", "--random-seed", "7"))
    second = statuses(spawn_mock("--error-rate", "0.3", "--random-seed", "7"))
    assert first == second
    assert 500 in first and 200 in first


def test_cors_allows_localhost_dev_servers_by_default(mock: MockProcess) -> None:
    preflight = httpx.options(
        mock.base_url + "/v1/conversations",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    simple = httpx.get(mock.base_url + "/v1/conversations", headers={**AUTH, "Origin": "http://127.0.0.1:3000"})
    assert simple.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
    foreign = httpx.get(mock.base_url + "/v1/conversations", headers={**AUTH, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in foreign.headers


def test_cors_origin_flag_replaces_the_default(spawn_mock: Any) -> None:
    mock = spawn_mock("--cors-origin", "https://app.example")
    ok = httpx.get(mock.base_url + "/v1/conversations", headers={**AUTH, "Origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    local = httpx.get(mock.base_url + "/v1/conversations", headers={**AUTH, "Origin": "http://localhost:5173"})
    assert "access-control-allow-origin" not in local.headers


def test_undeclared_method_is_405_with_allow(mock: MockProcess) -> None:
    for method, path, allow in (
        ("PATCH", "/v1/conversations/x", "GET, PUT, DELETE"),
        ("HEAD", "/v1/conversations", "GET, POST"),
        ("OPTIONS", "/v1/conversations", "GET, POST"),
        ("DELETE", "/v1/conversation/497f6eca-6276-4993-bfeb-53cbbbba6f08", "GET, PUT"),
        ("POST", "/v1/conversation", "GET"),
    ):
        response = httpx.request(method, mock.base_url + path, headers=AUTH)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allow
        if method != "HEAD":
            assert response.json()["error"] == "method_not_allowed"


def test_unknown_path_and_trailing_slash_are_json_404(mock: MockProcess) -> None:
    for path in ("/nope", "/v1/conversations/", "/v2/conversations", "/v1/conversations/a/b"):
        response = httpx.get(mock.base_url + path, headers=AUTH)
        assert response.status_code == 404 and response.json()["error"] == "not_found", path


def test_preflights_advertise_what_the_path_allows(mock: MockProcess) -> None:
    """HEAD and OPTIONS agree with CORS preflights: a path's preflight lists exactly the methods
    its 405 `Allow` header lists, and refuses a method the path does not have."""
    for path in ("/v1/conversations", "/v1/conversations/x", "/v1/conversation/497f6eca-6276-4993-bfeb-53cbbbba6f08"):
        allow = httpx.request("HEAD", mock.base_url + path, headers=AUTH).headers["allow"]
        preflight = httpx.options(
            mock.base_url + path,
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": allow.split(", ")[0]},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-methods"] == allow
        refused = httpx.options(
            mock.base_url + path,
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "HEAD"},
        )
        assert refused.status_code == 400 and "allowed: " + allow in refused.text
