"""Chaos settings and realistic faults, against a real mock process with real httpx clients."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import specs
from mockserver.api.auth import label_of
from mockserver.api.seed import DOCUMENTED_UUID
from specs.auth import scheme_of
from tests.conftest import ALICE, BOB, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}
CHAOS = "/__mock__/chaos"


@pytest.fixture
def calm(mock: MockProcess) -> Iterator[MockProcess]:
    """The shared mock, its chaos settings and fault rules cleared afterwards."""
    yield mock
    httpx.put(mock.base_url + CHAOS, json={"latency_ms": 0, "error_rate": 0, "code": None, "faults": []})


@pytest.mark.parametrize(
    "bad",
    [
        {"latency_ms": 1e20},
        {"random_seed": 1e300},
        {"latency_ms": True},
        {"error_rate": True},
        {"latency_ms": 200.7},
        {"latency_ms": 60_001},
        {"random_seed": -1},
        {"latency_ms": 100, "code": 42},  # one bad field: the good one is not applied either
        {"latency_ms": 100, "faults": [{"status": 503, "times": 0}]},
        {"faults": [{"fault": "explode"}]},
        {"faults": [{"status": 429, "fault": "reset"}]},
        {"faults": [{"status": 503, "operation": "noSuchOperation"}]},
        {"faults": [{"status": 503, "rate": 1.5}]},
        {"faults": [{"status": 503, "colour": "red"}]},
        {"source": "prefer-header"},
    ],
)
def test_chaos_updates_are_validated_whole_and_applied_atomically(calm: MockProcess, bad: dict[str, Any]) -> None:
    before = httpx.get(calm.base_url + CHAOS).json()
    response = httpx.put(calm.base_url + CHAOS, json=bad)
    assert response.status_code == 400 and "nothing changed" in response.json()["message"]
    assert httpx.get(calm.base_url + CHAOS).json() == before
    assert httpx.get(calm.base_url + "/v1/conversations", headers=AUTH).status_code == 200


def test_every_prefer_header_counts(calm: MockProcess) -> None:
    headers = [("Authorization", AUTH["Authorization"]), ("Prefer", "respond-async"), ("Prefer", "code=404")]
    response = httpx.get(calm.base_url + "/v1/conversations/conv_demo1_1", headers=headers)
    assert response.status_code == 404 and response.headers["x-mock-forced"] == "prefer-header"
    assert "Prefer header" in response.json()["message"]


@pytest.mark.parametrize(("status", "retry_after"), [(429, "1"), (503, "7"), (502, None), (504, None)])
def test_gateway_statuses_on_any_operation(calm: MockProcess, status: int, retry_after: str | None) -> None:
    prefer = f"code={status}" + (f", retry-after={retry_after}" if retry_after and retry_after != "1" else "")
    response = httpx.get(calm.base_url + "/v1/conversations", headers={**AUTH, "Prefer": prefer})
    assert response.status_code == status
    assert response.headers.get("retry-after") == retry_after
    assert response.json()["error"] == "forced"


def test_a_status_neither_documented_nor_gateway_is_400_naming_the_allowed(calm: MockProcess) -> None:
    response = httpx.get(calm.base_url + "/v1/conversations", headers={**AUTH, "Prefer": "code=418"})
    assert response.status_code == 400
    message = response.json()["message"]
    documented = specs.load("runtype").operations[0].statuses
    assert all(code in message for code in ["429", "502", "503", "504", *documented])


def test_reset_is_a_transport_error_and_journaled(calm: MockProcess) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(calm.base_url + "/v1/conversations", headers={**AUTH, "Prefer": "fault=reset"})
    [entry] = httpx.get(calm.base_url + "/__mock__/requests").json()["requests"]
    assert entry["status"] == 0 and entry["fault"] == "fault=reset by prefer-header"
    # The server is fine afterwards.
    assert httpx.get(calm.base_url + "/v1/conversations", headers=AUTH).status_code == 200


def test_the_journal_filters_by_the_status_it_shows_for_a_transport_fault(calm: MockProcess) -> None:
    """A reset shows as status 0 in the journal; `status=0` finds it, and only it."""
    with pytest.raises(httpx.TransportError):
        httpx.get(calm.base_url + "/v1/conversations", headers={**AUTH, "Prefer": "fault=reset"})
    httpx.get(calm.base_url + "/v1/conversations", headers=AUTH)
    found = httpx.get(calm.base_url + "/__mock__/requests", params={"status": "0"})
    assert found.status_code == 200
    assert [(e["status"], e["fault"]) for e in found.json()["requests"]] == [(0, "fault=reset by prefer-header")]
    count = httpx.get(calm.base_url + "/__mock__/requests/count", params={"status": "0"})
    assert count.status_code == 200 and count.json()["count"] == 1
    for bad in ("00", "0xx", "9xx", "abc", "600"):
        refused = httpx.get(calm.base_url + "/__mock__/requests", params={"status": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["error"] and "status must be" in refused.json()["message"]


def test_truncated_body_is_a_transport_error(calm: MockProcess) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(calm.base_url + "/v1/conversations", headers={**AUTH, "Prefer": "fault=truncate"})
    with pytest.raises(httpx.TransportError):
        httpx.get(calm.base_url + "/v1/conversations", headers={**AUTH, "Prefer": "fault=reset"})
    assert httpx.get(calm.base_url + "/__mock__/health").status_code == 200
    # A fault the mock meant is not an error in its log.
    assert not [line for line in calm.output if "ERROR" in line or "Traceback" in line]


def test_slow_body_arrives_whole_in_pieces(calm: MockProcess) -> None:
    plain = httpx.get(calm.base_url + "/v1/conversations", headers=AUTH).json()
    pieces: list[bytes] = []
    prefer = {**AUTH, "Prefer": "fault=slow-body, body-ms=300"}
    with httpx.stream("GET", calm.base_url + "/v1/conversations", headers=prefer) as response:
        assert response.headers["x-mock-forced"] == "prefer-header"
        pieces.extend(response.iter_raw())
    assert len(pieces) > 1
    assert httpx.Response(200, content=b"".join(pieces)).json() == plain


def test_next_n_recovers_exactly_after_n(calm: MockProcess) -> None:
    rule = {"status": 503, "operation": "createConversation", "times": 2, "retry_after": 3}
    assert httpx.put(calm.base_url + CHAOS, json={"faults": [rule]}).status_code == 200
    with httpx.Client(base_url=calm.base_url, headers=AUTH) as client:
        # Other operations are not in the rule's scope.
        assert client.get("/v1/conversations").status_code == 200
        first, second, third = (client.post("/v1/conversations", json={}) for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 201]
    assert first.headers["retry-after"] == "3" and first.headers["x-mock-forced"] == "control-plane"
    assert "PUT /__mock__/chaos" in first.json()["message"]
    assert httpx.get(calm.base_url + CHAOS).json()["faults"] == []


def test_rules_scoped_to_a_tenant(calm: MockProcess) -> None:
    rule = {"status": 502, "tenant": label_of(BOB)}
    assert httpx.put(calm.base_url + CHAOS, json={"faults": [rule]}).status_code == 200
    bob = httpx.get(calm.base_url + "/v1/conversations", headers={"Authorization": f"Bearer {BOB}"})
    alice = httpx.get(calm.base_url + "/v1/conversations", headers=AUTH)
    assert (bob.status_code, alice.status_code) == (502, 200)
    assert httpx.get(calm.base_url + CHAOS).json()["faults"][0]["remaining"] is None


def test_rate_based_rules_fire_for_some(calm: MockProcess) -> None:
    settings = {"random_seed": 7, "faults": [{"fault": "reset", "rate": 0.5}]}
    assert httpx.put(calm.base_url + CHAOS, json=settings).status_code == 200
    outcomes = []
    for _ in range(40):
        try:
            outcomes.append(httpx.get(calm.base_url + "/v1/conversations", headers=AUTH).status_code)
        except httpx.TransportError:
            outcomes.append(0)
    assert 5 < outcomes.count(0) < 35 and set(outcomes) == {0, 200}


def test_fault_flag_at_start_up(spawn_mock: Any) -> None:
    mock = spawn_mock("--fault", "status=429,times=1,retry_after=9")
    with httpx.Client(base_url=mock.base_url, headers=AUTH) as client:
        limited, then = client.get("/v1/conversations"), client.get("/v1/conversations")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "9"
    assert limited.headers["x-mock-forced"] == "cli-flag" and "start-up flag" in limited.json()["message"]
    assert then.status_code == 200


@pytest.mark.parametrize("rule", ["status=418", "fault=explode", "status", "times=2"])
def test_a_bad_fault_flag_is_one_line_and_exit_2(rule: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "--port", "0", "--fault", rule],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("convo-mock: error:")
    assert "Traceback" not in done.stderr


def test_prefer_example_answers_the_named_example(calm: MockProcess) -> None:
    operation = next(op for op in specs.load("runtype").operations if op.operation_id == "getConversation")
    documented = operation.definition["responses"]["200"]["content"]["application/json"]["examples"]["documented"]
    url = calm.base_url + "/v1/conversations/conv_demo1_1"
    response = httpx.get(url, headers={**AUTH, "Prefer": "example=documented"})
    assert response.status_code == 200 and response.json() == documented["value"]
    unknown = httpx.get(url, headers={**AUTH, "Prefer": "example=nope"})
    assert unknown.status_code == 400 and "documented" in unknown.json()["message"]


def test_prefer_dynamic_is_refused_explaining_the_mock_is_stateful(calm: MockProcess) -> None:
    response = httpx.get(calm.base_url + "/v1/conversations", headers={**AUTH, "Prefer": "dynamic=true"})
    assert response.status_code == 400 and "stateful" in response.json()["message"]


def test_a_prefer_delay_past_the_cap_is_400_naming_the_cap(calm: MockProcess) -> None:
    from mockserver.control.faults import MAX_DELAY_MS

    url = calm.base_url + "/v1/conversations"
    refused = httpx.get(url, headers={**AUTH, "Prefer": f"delay={MAX_DELAY_MS + 1}"})
    assert refused.status_code == 400 and f"0..{MAX_DELAY_MS}" in refused.json()["message"]
    assert httpx.get(url, headers={**AUTH, "Prefer": "delay=1"}).status_code == 200


def test_meta_names_the_defaults_a_rule_takes(calm: MockProcess) -> None:
    meta = httpx.get(calm.base_url + "/__mock__/meta").json()
    # A rule that leaves body_ms and retry_after out takes exactly what meta announces.
    put = httpx.put(calm.base_url + CHAOS, json={"faults": [{"status": 503}]}).json()
    [rule] = put["faults"]
    assert rule["body_ms"] == meta["fault_defaults"]["body_ms"]
    assert rule["retry_after"] == meta["fault_defaults"]["retry_after"]
    answer = httpx.get(calm.base_url + "/v1/conversations", headers=AUTH)
    assert answer.status_code == 503 and answer.headers["retry-after"] == str(meta["fault_defaults"]["retry_after"])
    # The journal keeps journal_size entries: the dashboard keeps as many.
    assert meta["journal_size"] > 0 and meta["max_delay_ms"] > 0


def test_api_scopes_a_rule_to_one_of_the_two_apis_sharing_an_operation_id(calm: MockProcess) -> None:
    rule = {"status": 503, "api": "systemprompt", "operation": "getConversation"}
    applied = httpx.put(calm.base_url + CHAOS, json={"faults": [rule]})
    assert applied.status_code == 200, applied.text
    assert applied.json()["faults"][0]["api"] == "systemprompt"
    systemprompt = httpx.get(
        f"{calm.base_url}/v1/conversation/{DOCUMENTED_UUID}", headers=scheme_of("systemprompt").headers(ALICE)
    )
    runtype = httpx.get(calm.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH)
    assert systemprompt.status_code == 503 and runtype.status_code == 200
    refused = httpx.put(calm.base_url + CHAOS, json={"faults": [{**rule, "api": "nope"}]})
    assert refused.status_code == 400 and "runtype, systemprompt" in refused.json()["message"]
    flagged = subprocess.run(
        [sys.executable, "-m", "mockserver", "--port", "0", "--fault", "status=503,api=nope"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert flagged.returncode == 2 and "api 'nope' is not served" in flagged.stderr
