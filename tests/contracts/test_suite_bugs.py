"""A bug inside one of our own checks is no proof against the server: the run ends as
"could not run" (exit 2, one line naming the check), cleans up, and reports no violation."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.cli import main
from contracts.context import Context
from contracts.families import auth, fixtures
from contracts.target import auth_headers


def _crashes_after_creating(ctx: Context) -> None:
    fixtures.create_conversation(ctx)  # something to clean up, then the suite's own bug
    raise KeyError("a bug in the suite")


def test_a_crashing_check_is_exit_2_not_a_violation(
    spawn_mock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mock = spawn_mock()
    monkeypatch.setattr(auth, "CHECKS", [_crashes_after_creating])
    headers = auth_headers("runtype", "demo-alice")
    before = httpx.get(f"{mock.base_url}/v1/conversations", headers=headers).json()["conversations"]
    report = tmp_path / "r.json"
    args = ["run", "--base-url", mock.base_url, "--api-key", "demo-alice", "--api", "runtype", "--only", "auth"]
    assert main([*args, "--json", str(report)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "_crashes_after_creating" in line and "bug in the suite" in line and "Traceback" not in line
    data = json.loads(report.read_text())
    assert data["exitCode"] == 2 and not [r for r in data["results"] if r["status"] == "failed"]
    after = httpx.get(f"{mock.base_url}/v1/conversations", headers=headers).json()["conversations"]
    assert after == before  # what the check created before it crashed was deleted
