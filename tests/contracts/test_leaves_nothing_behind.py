"""A run against a deployment leaves every tenant's conversations as it found them: what it
creates as the main key is deleted, and it never creates anything as another tenant."""

import json
from pathlib import Path
from typing import Any

import httpx

from contracts.cli import main
from contracts.target import auth_headers

KEYS = ("demo-alice", "demo-bob", "demo-readonly")


def _runtype_ids(base_url: str, key: str) -> list[str]:
    page = httpx.get(f"{base_url}/v1/conversations", params={"limit": 100}, headers=auth_headers("runtype", key))
    return sorted(c["id"] for c in page.json()["conversations"])


def test_a_run_with_every_key_leaves_each_tenants_conversations_as_they_were(spawn_mock: Any, tmp_path: Path) -> None:
    mock = spawn_mock()
    before = {key: _runtype_ids(mock.base_url, key) for key in KEYS}
    report = tmp_path / "report.json"
    keys = ["--api-key", KEYS[0], "--other-key", KEYS[1], "--readonly-key", KEYS[2]]
    args = ["run", "--base-url", mock.base_url, *keys, "--api", "runtype", "--only", "boundaries,auth,semantics"]
    assert main([*args, "--json", str(report)]) == 0
    assert json.loads(report.read_text())["leftovers"] == []
    assert {key: _runtype_ids(mock.base_url, key) for key in KEYS} == before
