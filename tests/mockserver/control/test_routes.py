"""The control plane under /__mock__/."""

import json
from typing import Any

import httpx
import pytest

from tests.conftest import ALICE, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}


def test_health(mock: MockProcess) -> None:
    assert httpx.get(mock.base_url + "/__mock__/health").json() == {"status": "ok", "apis": ["runtype", "systemprompt"]}


def test_reset_restores_the_seed(mock: MockProcess) -> None:
    cid = httpx.post(mock.base_url + "/v1/conversations", json={}, headers=AUTH).json()["id"]
    httpx.delete(mock.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH)
    assert httpx.post(mock.base_url + "/__mock__/reset").status_code == 200
    assert httpx.get(f"{mock.base_url}/v1/conversations/{cid}", headers=AUTH).status_code == 404
    assert httpx.get(mock.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH).status_code == 200


def test_state_round_trips_and_bad_state_changes_nothing(mock: MockProcess) -> None:
    httpx.put(mock.base_url + "/v1/conversations/conv_demo1_1", json={"title": "changed"}, headers=AUTH)
    state = httpx.get(mock.base_url + "/__mock__/state").json()
    assert set(state["tenants"]) == {"demo-alice", "demo-bob", "demo-readonly"}
    httpx.post(mock.base_url + "/__mock__/reset")
    assert httpx.put(mock.base_url + "/__mock__/state", json=state).status_code == 200
    assert httpx.get(mock.base_url + "/__mock__/state").json() == state
    got = httpx.get(mock.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH).json()
    assert got["title"] == "changed"

    broken = json.loads(json.dumps(state))
    broken["tenants"]["demo-alice"]["runtype"][0]["source"] = "web"
    response = httpx.put(mock.base_url + "/__mock__/state", json=broken)
    assert response.status_code == 400 and "runtype[0].source" in response.json()["message"]
    assert "demo-alice" not in response.json()["message"]
    for bad in (
        b"{",
        b"[]",
        b'{"tenants": {"k": {"runtype": "no"}}}',
        b'{"tenants": {"k": {"runtype": [{"id": "a"}, {"id": "a"}]}}}',
    ):
        json_type = {"Content-Type": "application/json"}
        assert httpx.put(mock.base_url + "/__mock__/state", content=bad, headers=json_type).status_code == 400
    assert httpx.get(mock.base_url + "/__mock__/state").json() == state


def test_state_entries_may_omit_what_the_mock_fills_in(mock: MockProcess) -> None:
    minimal = {"tenants": {"demo-alice": {"runtype": [{"title": "only a title"}], "systemprompt": [{}]}}}
    assert httpx.put(mock.base_url + "/__mock__/state", json=minimal).status_code == 200
    listed = httpx.get(mock.base_url + "/v1/conversations", headers=AUTH).json()["conversations"]
    assert [c["title"] for c in listed] == ["only a title"]
    full = httpx.get(f"{mock.base_url}/v1/conversations/{listed[0]['id']}", headers=AUTH).json()
    assert full["metadata"] == {} and full["messages"] == [] and full["source"] == "app"


def test_journal_records_requests_with_keys_redacted(mock: MockProcess) -> None:
    httpx.post(mock.base_url + "/v1/conversations", json={"title": "journaled"}, headers=AUTH)
    httpx.get(mock.base_url + "/v1/conversation", headers={"api-key": ALICE})
    httpx.get(mock.base_url + "/nope")
    httpx.get(mock.base_url + "/__mock__/health")
    entries = httpx.get(mock.base_url + "/__mock__/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v1/conversations", 201),
        ("GET", "/v1/conversation", 200),
        ("GET", "/nope", 404),
    ]
    assert entries[0]["body"] == {"title": "journaled"} and entries[0]["operationId"] == "createConversation"
    assert entries[0]["headers"]["authorization"] == "Bearer [REDACTED]"
    assert entries[1]["headers"]["api-key"] == "[REDACTED]"
    assert all(e["duration_ms"] >= 0 for e in entries)
    assert ALICE not in json.dumps(entries)
    assert httpx.delete(mock.base_url + "/__mock__/requests").status_code == 204
    assert httpx.get(mock.base_url + "/__mock__/requests").json()["requests"] == []


def test_journal_keeps_the_last_500(mock: MockProcess) -> None:
    with httpx.Client(base_url=mock.base_url) as client:
        for i in range(510):
            client.get(f"/nope/{i}")
    entries = httpx.get(mock.base_url + "/__mock__/requests").json()["requests"]
    assert len(entries) == 500 and entries[0]["path"] == "/nope/10" and entries[-1]["path"] == "/nope/509"


def test_openapi_serves_the_specs_pointing_at_the_mock(mock: MockProcess) -> None:
    for api in ("runtype", "systemprompt"):
        spec = httpx.get(f"{mock.base_url}/__mock__/openapi/{api}").json()
        assert spec["openapi"] == "3.1.0" and spec["servers"][0]["url"] == mock.base_url
    assert httpx.get(f"{mock.base_url}/__mock__/openapi/stripe").status_code == 404


def test_only_one_api(spawn_mock: Any) -> None:
    mock = spawn_mock("--api", "runtype")
    assert httpx.get(mock.base_url + "/v1/conversations", headers=AUTH).status_code == 200
    assert httpx.get(mock.base_url + "/v1/conversation", headers={"api-key": ALICE}).status_code == 404
    assert httpx.get(mock.base_url + "/__mock__/openapi/systemprompt").status_code == 404
    assert "api-key" not in mock.banner


def test_chaos_endpoint_forces_statuses_and_validates_settings(mock: MockProcess) -> None:
    try:
        # 404 is documented for a get, not for the list: only the get is forced.
        assert httpx.put(mock.base_url + "/__mock__/chaos", json={"code": 404}).status_code == 200
        assert httpx.get(mock.base_url + "/v1/conversations", headers=AUTH).status_code == 200
        forced = httpx.get(mock.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH)
        assert forced.status_code == 404 and forced.headers["x-mock-forced"] == "control-plane"
        assert "PUT /__mock__/chaos" in forced.json()["message"]
        # A status no operation documents and no gateway sends is refused, naming the allowed ones.
        refused = httpx.put(mock.base_url + "/__mock__/chaos", json={"code": 418})
        assert refused.status_code == 400 and "allowed: " in refused.json()["message"]
        assert httpx.put(mock.base_url + "/__mock__/chaos", json={"code": 500}).json()["code"] == 500
        assert httpx.get(mock.base_url + "/v1/conversations", headers=AUTH).status_code == 500
        # A request's own Prefer header still wins.
        assert (
            httpx.get(mock.base_url + "/v1/conversations/x", headers={**AUTH, "Prefer": "code=404"}).status_code == 404
        )
        for bad in ({"code": 42}, {"latency_ms": -1}, {"error_rate": 2}, {"nonsense": 1}, [1]):
            assert httpx.put(mock.base_url + "/__mock__/chaos", json=bad).status_code == 400
        assert httpx.get(mock.base_url + "/__mock__/chaos").json()["code"] == 500
    finally:
        httpx.put(mock.base_url + "/__mock__/chaos", json={"code": None, "latency_ms": 0, "error_rate": 0})
    assert httpx.get(mock.base_url + "/v1/conversations", headers=AUTH).status_code == 200


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc status")


def test_chaos_settings_past_the_body_cap_answer_413_without_buffering(spawn_mock: Any) -> None:
    mock = spawn_mock("--max-body", "65536")
    chunk = b" " * 65536

    def body() -> Any:
        # Chunked, no Content-Length: the cap must hold while the body streams in.
        yield b'{"code": null'
        for _ in range(512):  # 32 MiB of whitespace: valid JSON if it were read whole
            yield chunk
        yield b"}"

    before = _rss_kib(mock.proc.pid)
    try:
        response = httpx.put(
            mock.base_url + "/__mock__/chaos", content=body(), headers={"Content-Type": "application/json"}, timeout=30
        )
    except httpx.TransportError:
        pytest.fail("the mock broke off instead of answering 413")
    assert response.status_code == 413, response.text
    assert "65536" in response.json()["message"]
    growth_mib = (_rss_kib(mock.proc.pid) - before) / 1024
    assert growth_mib < 16, f"RSS grew {growth_mib:.1f} MiB"
    assert httpx.get(mock.base_url + "/__mock__/chaos").status_code == 200
