"""SIGINT/SIGTERM mid-run: the run stops sending, deletes what it created, writes the
reports it has, leaves no process and no temp file behind, and exits 128 + the signal with
one line. Counted on the server: its conversations before and after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.context import Context
from contracts.families.semantics import runtype_list_filters
from contracts.runner import _clean_up
from contracts.target import Client, Target
from specs.auth import scheme_of

ALICE = "demo-alice"


def _runtype_ids(mock: Any) -> list[str]:
    state = httpx.get(f"{mock.base_url}/__mock__/state").json()
    return [c["id"] for c in state["tenants"][ALICE]["runtype"]]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def _start(mock: Any, tmp_path: Path, family: str) -> tuple[subprocess.Popen[str], Path, Path]:
    temp = tmp_path / "tmp"
    temp.mkdir()
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "contracts", "run", "--api", "runtype", "--base-url", mock.base_url,
        "--api-key", ALICE, "--only", family, "--max-examples", "50", "--json", str(report),
    ]  # fmt: skip
    env = {**os.environ, "TMPDIR": str(temp)}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return proc, report, temp


def _wait_until(condition: Any, proc: subprocess.Popen[str], what: str, limit: float = 90) -> None:
    ends = time.monotonic() + limit
    while time.monotonic() < ends:
        if condition():
            return
        assert proc.poll() is None, f"the run ended before {what}: {proc.communicate()}"
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"never saw {what}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_run_cleans_up_reports_and_exits_128_plus_signal(
    signum: signal.Signals, spawn_mock: Any, tmp_path: Path
) -> None:
    mock = spawn_mock("--latency", "20")
    before = _runtype_ids(mock)
    proc, report, temp = _start(mock, tmp_path, "semantics")
    _wait_until(lambda: len(_runtype_ids(mock)) > len(before), proc, "a conversation created by the run")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"convo-contracts: stopped by {signum.name}"), err
    assert "Traceback" not in out + err and ALICE not in out + err
    assert _runtype_ids(mock) == before
    # The report of what was done before the signal is written, and lists nothing left behind.
    data = json.loads(report.read_text())
    assert isinstance(data["results"], list) and data["leftovers"] == []
    assert list(temp.iterdir()) == []


def test_sigterm_during_schemathesis_ends_its_child_too(spawn_mock: Any, tmp_path: Path) -> None:
    mock = spawn_mock("--latency", "20")
    before = _runtype_ids(mock)
    proc, _report, temp = _start(mock, tmp_path, "schemathesis")
    _wait_until(lambda: bool(_children(proc.pid)), proc, "the Schemathesis child")
    children = _children(proc.pid)
    _wait_until(lambda: len(_runtype_ids(mock)) > len(before), proc, "a conversation created by Schemathesis")
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and ALICE not in err
    assert not [c for c in children if _alive(c)], "the Schemathesis child outlived the run"
    # Its config held the key: no temp file may stay behind.
    assert list(temp.iterdir()) == []
    assert _runtype_ids(mock) == before


def test_clean_up_finds_every_owner_tag_a_check_used(mock: Any) -> None:
    """list_filters writes `<run tag>-match`/`-other` owners: a create of theirs whose answer
    was lost is still found and deleted by clean-up."""
    target = Target(base_url=mock.base_url, api_key="demo-alice")
    ctx = Context(target, "runtype", "semantics", Client(target, "runtype"), "convo-contracts-t1")
    runtype_list_filters(ctx)
    assert ctx.tags == ["convo-contracts-t1-match", "convo-contracts-t1-other"]
    url = f"{mock.base_url}/v1/conversations"
    headers = scheme_of("runtype").headers("demo-alice")
    # A create the checks never saw the answer of: only its owner tag can find it.
    lost = httpx.post(url, headers=headers, json={"ownerId": "convo-contracts-t1-match"}).json()["id"]
    assert _clean_up(target, "runtype", ctx.created, ["convo-contracts-t1", *ctx.tags]) == []
    assert httpx.get(f"{url}/{lost}", headers=headers).status_code == 404
    left = httpx.get(url, headers=headers, params={"ownerId": "convo-contracts-t1-other"}).json()["conversations"]
    assert left == []
