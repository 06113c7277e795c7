"""Forwarded credentials: the keys the proxy's clients send are secrets in everything the proxy
writes, like the mock's own keys, wherever the upstream echoes them (a body, a header, an id,
an error message) and in whatever form (JSON-escaped, percent-encoded).

The upstream here echoes the caller's key everywhere it can; a real proxy process writes the
journal, the violations, the record file, the --json report and its console. No output may
hold the key's unique part in any form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import MockProcess

UNIQUE = "f00dfacecafe4711"
# The characters a JSON string escapes, and a space: a redactor working on serialised text
# misses the key's escaped form.
KEY = f'sk-live-"quoted\\back {UNIQUE}'
SP_UNIQUE = "5eed5eed5eed5eed"
SP_KEY = f"sp-key-{SP_UNIQUE}"

CONVERSATION = {
    "title": "echo",
    "modelId": "claude-sonnet-4-5",
    "systemPrompt": "You are a coding assistant.",
    "ownerId": "user_1",
    "metadata": {"topic": "programming"},
    "messages": [],
    "source": "app",
    "createdAt": "2024-06-01T09:10:00Z",
    "updatedAt": "2024-06-01T09:12:00Z",
}


async def echo(request: Request) -> Response:
    """Echo the caller's key: as the id and in the title of a created conversation (a
    conforming answer, so recorded), as an enum's value (a violation whose value is the key), in
    a header of every answer, and in the message of a 404."""
    auth = request.headers.get("authorization", "")
    key = auth.removeprefix("Bearer ") if auth else request.headers.get("api-key", "")
    headers = {"X-Echo": key}
    path = request.scope["path"]  # percent-decoded: the key as it was sent
    if request.method == "POST" and path == "/v1/conversations":
        return JSONResponse({**CONVERSATION, "id": key, "title": f"made for {key}"}, 201, headers)
    if request.method == "GET" and path.startswith("/v1/conversations/"):
        return JSONResponse({**CONVERSATION, "id": "conv_1", "source": key}, 200, headers)
    return JSONResponse({"error": "not_found", "message": f"nothing at {path} for {key}"}, 404, headers)


def test_a_key_the_upstream_echoes_reaches_no_output(spawn_mock: Any, serve: Any, tmp_path: Path) -> None:
    upstream = serve(Starlette(routes=[Route("/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"])]))
    record, report = tmp_path / "record.json", tmp_path / "traffic.json"
    proxy: MockProcess = spawn_mock("--upstream", upstream.base_url, "--record", str(record), "--json", str(report))
    bearer, sp = {"Authorization": f"Bearer {KEY}"}, {"api-key": SP_KEY}
    with httpx.Client(base_url=proxy.base_url, timeout=10) as client:
        created = client.post("/v1/conversations", json={"title": "t"}, headers=bearer)
        assert created.status_code == 201 and created.json()["id"] == KEY  # passed on as it came
        assert client.get("/v1/conversations/conv_1", headers=bearer).status_code == 200
        # An id holding the key, percent-encoded in the path: an unknown operation.
        assert client.get(f"/v1/nowhere/{quote(KEY, safe='')}", headers=bearer).status_code == 404
        assert client.get(f"/v1/conversation/{SP_KEY}", headers=sp).status_code == 404
        journal = client.get("/__mock__/requests")
        violations = client.get("/__mock__/violations")
    assert proxy.stop() == 0
    outputs = {
        "journal": journal.text,
        "violations": violations.text,
        "record": record.read_text(),
        "report": report.read_text(),
        "console": "".join(proxy.output),
    }
    # What each output holds, so that an empty one cannot pass.
    assert len(journal.json()["requests"]) == 4
    everything = violations.json()["violations"]
    # The behaviour monitor's: the create answered another title than sent (the key in it), and
    # metadata where the documented default is {}.
    monitor = {(v["rule"], v["value"]) for v in everything if v["rule"] in ("writeShown", "defaultApplied")}
    assert monitor == {("writeShown", '"made for [REDACTED]"'), ("defaultApplied", '{"topic":"programming"}')}
    found = {(v["operationId"], v["direction"], v["value"]) for v in everything if v["rule"] not in dict(monitor)}
    assert found == {
        ("getConversation", "response", '"[REDACTED]"'),  # runtype: the key as `source`
        (None, "request", '"GET /v1/nowhere/[REDACTED]"'),  # runtype: the key as an unknown path's id
        ("getConversation", "request", '"[REDACTED]"'),  # systemprompt: the key as a uuid
    }
    recorded = json.loads(outputs["record"])["tenants"]["tenant-1"]["runtype"]
    assert [c["title"] for c in recorded] == ["made for [REDACTED]"]
    assert json.loads(outputs["report"])["summary"]["failed"] >= 2
    assert outputs["console"].count("convo-mock: violation ") == 5
    for name, text in outputs.items():
        for unique in (UNIQUE, SP_UNIQUE):
            assert unique not in text, f"a key in the {name}"
