"""Runtype routes against a real uvicorn process; every response is checked against the spec."""

from datetime import datetime
from typing import Any

import pytest

from tests.conftest import ALICE, BOB, READONLY

RFC3339_UTC = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse(ts: str) -> datetime:
    return datetime.strptime(ts, RFC3339_UTC)


def test_create_applies_documented_defaults_and_answers_201(clients: Any) -> None:
    rt = clients("runtype")
    created = rt.post("/v1/conversations", json={})
    assert created.status_code == 201
    body = created.json()
    assert body["title"] == "New Chat" and body["metadata"] == {} and body["messages"] == []
    assert body["modelId"] is None and body["systemPrompt"] is None and body["ownerId"] is None
    assert body["source"] == "app" and body["createdAt"] == body["updatedAt"]
    assert rt.get(f"/v1/conversations/{body['id']}").json() == body


def test_create_then_get_returns_what_was_sent(clients: Any) -> None:
    rt = clients("runtype")
    sent = {
        "title": "Ünïcode 😀",
        "modelId": "m1",
        "systemPrompt": "Be terse.",
        "ownerId": "u1",
        "metadata": {"a": [1, {"b": None}]},
    }
    created = rt.post("/v1/conversations", json={**sent, "unknownField": 1}).json()
    assert {k: created[k] for k in sent} == sent
    assert "unknownField" not in created
    assert rt.get(f"/v1/conversations/{created['id']}").json() == created


def test_partial_update_keeps_other_fields_and_replaces_messages(clients: Any) -> None:
    rt = clients("runtype")
    created = rt.post("/v1/conversations", json={"title": "t", "modelId": "m", "ownerId": "o"}).json()
    first = rt.put(
        f"/v1/conversations/{created['id']}", json={"messages": [{"id": "1", "role": "user", "content": "hi"}]}
    ).json()
    second = rt.put(f"/v1/conversations/{created['id']}", json={"title": "t2", "messages": [{"id": "2"}]}).json()
    assert second["title"] == "t2" and second["modelId"] == "m" and second["ownerId"] == "o"
    assert second["messages"] == [{"id": "2"}]
    assert second["createdAt"] == created["createdAt"]
    assert parse(created["updatedAt"]) < parse(first["updatedAt"]) < parse(second["updatedAt"])
    assert rt.get(f"/v1/conversations/{created['id']}").json() == second


def test_update_with_empty_body_still_moves_updated_at(clients: Any) -> None:
    rt = clients("runtype")
    created = rt.post("/v1/conversations", json={"title": "x"}).json()
    updated = rt.put(f"/v1/conversations/{created['id']}", json={}).json()
    assert {k: v for k, v in updated.items() if k != "updatedAt"} == {
        k: v for k, v in created.items() if k != "updatedAt"
    }
    assert parse(updated["updatedAt"]) > parse(created["updatedAt"])


def test_delete_then_get_and_delete_again_are_404(clients: Any) -> None:
    rt = clients("runtype")
    cid = rt.post("/v1/conversations", json={}).json()["id"]
    deleted = rt.delete(f"/v1/conversations/{cid}")
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert rt.get(f"/v1/conversations/{cid}").status_code == 404
    assert rt.delete(f"/v1/conversations/{cid}").status_code == 404
    assert rt.put(f"/v1/conversations/{cid}", json={}).status_code == 404
    assert cid not in [c["id"] for c in rt.get("/v1/conversations", params={"limit": 100}).json()["conversations"]]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 501),
        ("modelId", "x" * 256),
        ("ownerId", ""),
        ("ownerId", "x" * 256),
        ("title", None),
        ("metadata", []),
        ("systemPrompt", 5),
    ],
)
def test_create_and_update_reject_out_of_limit_fields_naming_them(clients: Any, field: str, value: Any) -> None:
    rt = clients("runtype")
    cid = rt.post("/v1/conversations", json={}).json()["id"]
    before = rt.get(f"/v1/conversations/{cid}").json()
    for response in (
        rt.post("/v1/conversations", json={field: value}),
        rt.put(f"/v1/conversations/{cid}", json={field: value}),
    ):
        assert response.status_code == 400
        assert response.json()["error"] == "bad_request" and field in response.json()["message"]
    assert rt.get(f"/v1/conversations/{cid}").json() == before


@pytest.mark.parametrize(("field", "length"), [("title", 500), ("modelId", 255), ("ownerId", 255), ("ownerId", 1)])
def test_limits_count_characters_not_bytes(clients: Any, field: str, length: int) -> None:
    rt = clients("runtype")
    value = "😀" * length
    created = rt.post("/v1/conversations", json={field: value})
    assert created.status_code == 201 and created.json()[field] == value
    assert rt.put(f"/v1/conversations/{created.json()['id']}", json={field: value}).status_code == 200


def test_list_filters(clients: Any) -> None:
    rt = clients("runtype")
    rt.post("/v1/conversations", json={"ownerId": "owner-x"})
    rt.post("/v1/conversations", json={"ownerId": "owner-y"})
    owned = rt.get("/v1/conversations", params={"ownerId": "owner-x"}).json()["conversations"]
    assert [c["ownerId"] for c in owned] == ["owner-x"]
    by_source = rt.get("/v1/conversations", params={"source": "client_token"}).json()["conversations"]
    assert by_source and {c["source"] for c in by_source} == {"client_token"}
    surface = rt.get("/v1/conversations", params={"surface_id": "surface_pricing", "client_token_id": "ct_demo"}).json()
    assert [c["id"] for c in surface["conversations"]] == ["conv_demo1_3"]
    assert rt.get("/v1/conversations", params={"surface_id": "nope"}).json()["conversations"] == []


def test_cursor_pagination_walks_everything_once_while_others_create(clients: Any) -> None:
    rt = clients("runtype")
    for i in range(23):
        rt.post("/v1/conversations", json={"title": f"c{i}"})
    expected = [c["id"] for c in rt.get("/v1/conversations", params={"limit": 100}).json()["conversations"]]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = rt.get("/v1/conversations", params=params).json()
        assert len(page["conversations"]) <= 4 and page["pagination"]["limit"] == 4
        seen += [c["id"] for c in page["conversations"]]
        rt.post("/v1/conversations", json={"title": "created mid-walk"})  # must not disturb the walk
        if not page["pagination"]["hasMore"]:
            assert page["pagination"].get("nextCursor") is None
            break
        cursor = page["pagination"]["nextCursor"]
    assert seen == expected


def test_list_rejects_bad_limit_and_tolerates_unknown_cursor(clients: Any) -> None:
    rt = clients("runtype")
    for bad in ("0", "-1", "abc", "1.5"):
        response = rt.get("/v1/conversations", params={"limit": bad})
        assert response.status_code == 400 and "limit" in response.json()["message"]
    unknown = rt.get("/v1/conversations", params={"cursor": "not-a-cursor"})
    assert unknown.status_code == 200 and unknown.json()["conversations"] == []
    assert rt.get("/v1/conversations", params={"source": "web"}).status_code == 400


def test_tenants_are_isolated(clients: Any) -> None:
    alice, bob = clients("runtype", ALICE), clients("runtype", BOB)
    cid = alice.post("/v1/conversations", json={"title": "alice's"}).json()["id"]
    assert bob.get(f"/v1/conversations/{cid}").status_code == 404
    assert bob.put(f"/v1/conversations/{cid}", json={"title": "pwned"}).status_code == 404
    assert bob.delete(f"/v1/conversations/{cid}").status_code == 404
    assert cid not in [c["id"] for c in bob.get("/v1/conversations", params={"limit": 100}).json()["conversations"]]
    assert alice.get(f"/v1/conversations/{cid}").json()["title"] == "alice's"


def test_readonly_key_reads_but_gets_403_on_writes(clients: Any) -> None:
    ro = clients("runtype", READONLY)
    assert ro.get("/v1/conversations").status_code == 200
    cid = ro.get("/v1/conversations").json()["conversations"][0]["id"]
    assert ro.get(f"/v1/conversations/{cid}").status_code == 200
    for response in (
        ro.post("/v1/conversations", json={}),
        ro.put(f"/v1/conversations/{cid}", json={}),
        ro.delete(f"/v1/conversations/{cid}"),
    ):
        assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert ro.get(f"/v1/conversations/{cid}").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "demo-alice"},
        {"Authorization": "Basic ZGVtbzp4"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer wrong"},
        {"api-key": "demo-alice"},
    ],
)
def test_missing_malformed_or_unknown_credentials_are_401(clients: Any, headers: dict[str, str]) -> None:
    anonymous = clients("runtype", None)
    for method, path in (
        ("GET", "/v1/conversations"),
        ("POST", "/v1/conversations"),
        ("GET", "/v1/conversations/conv_demo1_1"),
        ("PUT", "/v1/conversations/conv_demo1_1"),
        ("DELETE", "/v1/conversations/conv_demo1_1"),
    ):
        response = anonymous.request(method, path, headers=headers, json={} if method in ("POST", "PUT") else None)
        assert response.status_code == 401, (method, path)
        assert "demo-alice" not in response.text and "wrong" not in response.text
    assert clients("runtype").get("/v1/conversations/conv_demo1_1").status_code == 200
