"""The request journal against a real mock process: byte caps, redaction, queries, tenant labels."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.api.auth import label_of
from mockserver.control.journal import BODY_CAP, HEADERS_CAP
from tests.conftest import ALICE, BOB, READONLY, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}


def _journal(mock: MockProcess, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(mock.base_url + "/__mock__/requests", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["requests"]
    return entries


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc status")


def test_entries_carry_the_response_and_a_tenant_label(mock: MockProcess) -> None:
    created = httpx.post(mock.base_url + "/v1/conversations", json={"title": "journaled"}, headers=AUTH)
    [entry] = _journal(mock)
    assert entry["status"] == 201 and entry["response"]["status"] == 201
    assert entry["response"]["body"] == created.json()
    assert entry["response"]["headers"]["content-type"] == "application/json"
    assert entry["tenant"] == label_of(ALICE) and ALICE not in entry["tenant"]
    assert entry["id"] >= 1 and entry["api"] == "runtype"


def test_demo_keys_are_shown_by_their_public_names(mock: MockProcess) -> None:
    """The demo keys are printed in the banner: the journal calls them alice, bob, readonly."""
    for key in (ALICE, BOB, READONLY):
        httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": f"Bearer {key}"})
    httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": "Bearer not-a-demo-key"})
    entries = _journal(mock)
    assert [e["tenant"] for e in entries] == ["alice", "bob", "readonly", label_of("not-a-demo-key")]
    assert label_of("not-a-demo-key").startswith("key-")
    assert [e["tenant"] for e in _journal(mock, tenant="bob")] == ["bob"]


def test_named_keys_are_labelled_by_name(spawn_mock: Any) -> None:
    mock = spawn_mock("--key", "alice=s3cr3t-value", "--key", "ci=other-secret:readonly")
    assert "s3cr3t-value" not in mock.banner
    httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": "Bearer s3cr3t-value"})
    httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": "Bearer other-secret"})
    entries = _journal(mock)
    assert [e["tenant"] for e in entries] == ["alice", "ci"]
    assert "s3cr3t-value" not in json.dumps(entries)
    assert [e["path"] for e in _journal(mock, tenant="ci")] == ["/v1/conversations"]


def test_bodies_are_cut_and_marked(mock: MockProcess) -> None:
    title = "x" * 20_000  # past the spec's limit: a 400, but the journal must still stay small
    httpx.post(mock.base_url + "/v1/conversations", json={"title": title}, headers=AUTH)
    [entry] = _journal(mock)
    assert entry["status"] == 400
    assert entry["bodyBytes"] > 20_000
    assert isinstance(entry["body"], str) and entry["body"].endswith(f"of {entry['bodyBytes']} bytes kept]")
    assert len(entry["body"]) < BODY_CAP + 100


def test_oversized_headers_are_kept_cut_and_redacted(mock: MockProcess) -> None:
    httpx.get(mock.base_url + "/v1/conversations", headers={**AUTH, "X-Big": "y" * 50_000})
    [entry] = _journal(mock)
    assert len(json.dumps(entry["headers"])) < HEADERS_CAP + 1000
    assert entry["headers"]["authorization"] == "Bearer [REDACTED]"
    assert entry["tenant"] == label_of(ALICE)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"apikey": ALICE}, ""),
        ({"api_key": ALICE}, ""),
        ({"X-Authorization": ALICE}, ""),
        ({"Authorisation": ALICE}, ""),
        ({"X-Session-Token": ALICE}, ""),
        ({}, f"api-key={ALICE}"),
        ({}, f"token={ALICE}&page=2"),
    ],
)
def test_credentials_under_near_miss_names_are_redacted(mock: MockProcess, headers: dict[str, str], query: str) -> None:
    httpx.get(f"{mock.base_url}/v1/conversations?{query}", headers=headers)
    [entry] = _journal(mock)
    assert ALICE not in json.dumps(entry)
    assert "[REDACTED]" in json.dumps(entry)


def test_a_key_echoed_in_a_body_is_redacted(mock: MockProcess) -> None:
    httpx.post(mock.base_url + "/v1/conversations", json={"title": f"my key is {BOB}"}, headers=AUTH)
    [entry] = _journal(mock)
    assert BOB not in json.dumps(entry) and "[REDACTED]" in entry["body"]["title"]


def test_queries_filter_and_count(mock: MockProcess) -> None:
    with httpx.Client(base_url=mock.base_url) as client:
        client.get("/v1/conversations", headers=AUTH)
        client.post("/v1/conversations", json={}, headers=AUTH)
        client.get("/v1/conversations/nope", headers=AUTH)
        client.get("/v1/conversation", headers={"api-key": BOB})
        client.get("/v1/conversations")  # no key: 401
    everything = _journal(mock)
    assert len(everything) == 5
    assert [e["status"] for e in _journal(mock, status="4xx")] == [404, 401]
    assert [e["method"] for e in _journal(mock, method="post")] == ["POST"]
    assert [e["operationId"] for e in _journal(mock, operation="getConversation")] == ["getConversation"]
    assert [e["path"] for e in _journal(mock, path="/v1/conversations/*")] == ["/v1/conversations/nope"]
    assert [e["api"] for e in _journal(mock, api="systemprompt")] == ["systemprompt"]
    assert [e["tenant"] for e in _journal(mock, tenant=label_of(BOB))] == [label_of(BOB)]
    assert [e["id"] for e in _journal(mock, since=everything[2]["id"])] == [e["id"] for e in everything[3:]]
    assert [e["id"] for e in _journal(mock, limit=2)] == [e["id"] for e in everything[-2:]]
    count = httpx.get(mock.base_url + "/__mock__/requests/count", params={"status": "2xx", "tenant": label_of(ALICE)})
    assert count.json() == {"count": 2}


@pytest.mark.parametrize(
    "params", [{"colour": "red"}, {"status": "4x"}, {"status": "abc"}, {"since": "-1"}, {"limit": "many"}]
)
def test_bad_queries_are_400_naming_the_problem(mock: MockProcess, params: dict[str, str]) -> None:
    for route in ("/__mock__/requests", "/__mock__/requests/count"):
        response = httpx.get(mock.base_url + route, params=params)
        assert response.status_code == 400
        assert next(iter(params)) in response.json()["message"]


def test_rejected_megabyte_bodies_do_not_grow_memory(spawn_mock: Any) -> None:
    """Issue #10: 30 rejected 1 MB bodies took RSS from 48 to 758 MiB. Bound: +60 MiB."""
    mock = spawn_mock()
    blob = json.dumps({"title": "t" * (1024 * 1024 - 100)})
    with httpx.Client(base_url=mock.base_url, timeout=30) as client:
        client.get("/v1/conversations", headers=AUTH)
        before = _rss_kib(mock.proc.pid)
        for i in range(30):
            # Valid JSON of ~1 MB rejected by the schema (title too long), and one unauthenticated.
            headers = AUTH if i % 2 else {}
            response = client.post(
                "/v1/conversations", content=blob, headers={**headers, "Content-Type": "application/json"}
            )
            assert response.status_code in (400, 401, 413)
    time.sleep(0.2)
    growth_mib = (_rss_kib(mock.proc.pid) - before) / 1024
    print(f"RSS growth after 30 rejected 1 MB bodies: {growth_mib:.1f} MiB")
    assert growth_mib < 60
    # Unauthenticated requests are refused before their body is read: nothing of it is kept.
    bodies = [e["body"] for e in _journal(mock, method="POST")]
    assert sum(body is None for body in bodies) == 15
    assert all(len(body) < BODY_CAP + 100 for body in bodies if body is not None)


def test_a_journal_of_size_0_keeps_nothing(spawn_mock: Any) -> None:
    """`--journal-size 0` turns the journal off: nothing is kept, and the mock still answers."""
    mock = spawn_mock("--journal-size", "0")
    assert httpx.post(mock.base_url + "/v1/conversations", json={"title": "t"}, headers=AUTH).status_code == 201
    assert httpx.get(mock.base_url + "/v1/conversations", headers=AUTH).status_code == 200
    assert _journal(mock) == []
    assert httpx.get(mock.base_url + "/__mock__/requests/count").json() == {"count": 0}
    assert httpx.get(mock.base_url + "/__mock__/meta").json()["journal_size"] == 0
