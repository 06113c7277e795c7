"""systemprompt.io routes against a real uvicorn process; every response checked against the spec."""

import subprocess
from typing import Any

from tests.conftest import ALICE, BOB, MockProcess

DOC_UUID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
DOC_CURL = """curl -X PUT "https://api.systemprompt.io/v1/conversation/497f6eca-6276-4993-bfeb-53cbbbba6f08" \\
  -H "api-key: <apikey>" \\
  -H "Content-Type: application/json" \\
  -d '{
    "metadata": {
      "title": "Research Analysis",
      "description": "A schema for analysing research data for blogs",
      "created": "2023-04-01T12:00:00Z",
      "updated": "2023-04-01T12:00:00Z",
      "version": 1,
      "status": "published",
      "tag": [
        "SystemPrompt",
        "Blog",
        "Conversation",
        "Text Output"
      ],
      "log_message": "Created a new research analysis",
      "author": "admin"
    }
  }'"""


def test_the_documentations_own_curl_works_with_the_host_swapped(mock: MockProcess, clients: Any) -> None:
    command = DOC_CURL.replace("https://api.systemprompt.io", mock.base_url).replace("<apikey>", ALICE)
    result = subprocess.run(
        ["bash", "-c", command + " -s -w '\\n%{http_code}'"], capture_output=True, text=True, check=True
    )
    body, status = result.stdout.rsplit("\n", 1)
    assert status == "200", body
    sp = clients("systemprompt")
    stored = sp.get(f"/v1/conversation/{DOC_UUID}").json()
    assert stored["metadata"]["tag"] == ["SystemPrompt", "Blog", "Conversation", "Text Output"]
    assert stored["metadata"]["log_message"] == "Created a new research analysis"


def test_update_merges_metadata_visible_in_get_and_list(clients: Any) -> None:
    sp = clients("systemprompt")
    before = sp.get(f"/v1/conversation/{DOC_UUID}").json()
    updated = sp.put(
        f"/v1/conversation/{DOC_UUID}", json={"metadata": {"status": "draft", "new": [1]}, "other": "ignored"}
    ).json()
    assert updated["metadata"] == {**before["metadata"], "status": "draft", "new": [1]}
    assert updated["message"] == before["message"] and "other" not in updated
    assert sp.get(f"/v1/conversation/{DOC_UUID}").json() == updated
    listed = {c["id"]: c for c in sp.get("/v1/conversation").json()}
    assert listed[DOC_UUID]["metadata"]["status"] == "draft"
    assert updated["_link"].endswith(f"/v1/conversation/{DOC_UUID}")


def test_update_without_metadata_changes_nothing_but_is_accepted(clients: Any) -> None:
    sp = clients("systemprompt")
    before = sp.get(f"/v1/conversation/{DOC_UUID}").json()
    assert sp.put(f"/v1/conversation/{DOC_UUID}", json={}).json() == before


def test_bad_bodies_and_ids(clients: Any) -> None:
    sp = clients("systemprompt")
    assert sp.put(f"/v1/conversation/{DOC_UUID}", json={"metadata": "x"}).status_code == 400
    assert sp.put(f"/v1/conversation/{DOC_UUID}", json=[1]).status_code == 400
    assert sp.put(f"/v1/conversation/{DOC_UUID}").status_code == 400  # body is required
    assert sp.get("/v1/conversation/not-a-uuid").status_code == 400
    assert "uuid" in sp.get("/v1/conversation/not-a-uuid").json()["message"]
    assert sp.get("/v1/conversation/00000000-0000-4000-8000-000000000000").status_code == 404
    assert sp.put("/v1/conversation/00000000-0000-4000-8000-000000000000", json={}).status_code == 404


def test_uppercase_uuid_finds_the_same_conversation(clients: Any) -> None:
    sp = clients("systemprompt")
    assert sp.get(f"/v1/conversation/{DOC_UUID.upper()}").json()["id"] == DOC_UUID


def test_page_and_limit(clients: Any) -> None:
    sp = clients("systemprompt")
    everything = [c["id"] for c in sp.get("/v1/conversation").json()]
    assert len(everything) >= 2
    assert [c["id"] for c in sp.get("/v1/conversation", params={"limit": 1, "page": 2}).json()] == everything[1:2]
    assert sp.get("/v1/conversation", params={"page": 99}).json() == []
    assert sp.get("/v1/conversation", params={"limit": 0}).json() == []
    assert sp.get("/v1/conversation", params={"page": "x"}).status_code == 400


def test_tenants_are_isolated_and_auth_is_required(clients: Any) -> None:
    alice, bob = clients("systemprompt", ALICE), clients("systemprompt", BOB)
    assert bob.get(f"/v1/conversation/{DOC_UUID}").status_code == 404
    assert bob.put(f"/v1/conversation/{DOC_UUID}", json={"metadata": {"x": 1}}).status_code == 404
    assert DOC_UUID not in [c["id"] for c in bob.get("/v1/conversation").json()]
    assert "x" not in alice.get(f"/v1/conversation/{DOC_UUID}").json()["metadata"]
    anonymous = clients("systemprompt", None)
    for headers in ({}, {"api-key": ""}, {"api-key": "nope"}, {"Authorization": f"Bearer {ALICE}"}):
        assert anonymous.get("/v1/conversation", headers=headers).status_code == 401
        assert anonymous.put(f"/v1/conversation/{DOC_UUID}", headers=headers, json={}).status_code == 401
