"""SIGINT/SIGTERM while the model family runs: the run stops sending, deletes what both keys
created (the other key's with that key), writes its report and exits 128 + the signal."""

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

from .helpers import ALICE, BOB


def _conversations(mock: Any) -> dict[str, list[str]]:
    tenants = httpx.get(f"{mock.base_url}/__mock__/state").json()["tenants"]
    return {key: [c["id"] for c in tenants[key]["runtype"]] for key in (ALICE, BOB)}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_sequence_cleans_up_both_keys_and_reports(
    signum: signal.Signals, spawn_mock: Any, tmp_path: Path
) -> None:
    mock = spawn_mock("--latency", "20")
    before = _conversations(mock)
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "contracts", "run", "--api", "runtype", "--base-url", mock.base_url,
        "--api-key", ALICE, "--other-key", BOB, "--only", "model", "--model-seconds", "300", "--json", str(report),
    ]  # fmt: skip
    # Its working folder and TMPDIR, to see that it leaves nothing there (Hypothesis' caches).
    here, temp = tmp_path / "cwd", tmp_path / "tmp"
    here.mkdir()
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(Path(__file__).resolve().parents[4])}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=here, env=env)
    ends = time.monotonic() + 90
    # Wait until both keys hold a conversation of the run's.
    while time.monotonic() < ends:
        now = _conversations(mock)
        if all(len(now[key]) > len(before[key]) for key in before):
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    else:
        proc.kill()
        raise AssertionError("the run never held a conversation of both keys")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"convo-contracts: stopped by {signum.name}"), err
    assert "Traceback" not in out + err and ALICE not in out + err and BOB not in out + err
    assert _conversations(mock) == before
    assert json.loads(report.read_text())["leftovers"] == []
    assert list(here.iterdir()) == [] and list(temp.iterdir()) == []
