"""Every configuration a user may choose runs green against the real mock: one key or
several, read-only, each family subset, each API, and each API at its own host with its own
keys. Asserted on the JSON report's data, and nothing the run created is left behind."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.cli import main
from contracts.settings import FAMILIES
from corpus.conforming import CHOICES
from mockserver.background import BackgroundServer

ALICE, BOB, READONLY = "demo-alice", "demo-bob", "demo-readonly"
DEMO_RUNTYPE = ["conv_demo1_1", "conv_demo1_2", "conv_demo1_3"]
FAST = ["--max-examples", "3", "--workers", "1", "--model-examples", "5"]

# The model family runs for seconds, not one: its configurations are
# tests/contracts/families/model/test_configurations.py's.
OUR_FAMILIES = [f for f in FAMILIES if f not in ("schemathesis", "model")]
OURS = ["--only", ",".join(OUR_FAMILIES)]
# Every subset of our own families (each runs in about a second). Schemathesis takes ~10 s
# per API even with 3 examples, so it runs only where its command line differs: one key
# (plain headers), two keys (WFC peers) and read-only (GET only, no coverage phase).
SUBSETS = [",".join(c) for n in range(1, len(OUR_FAMILIES) + 1) for c in itertools.combinations(OUR_FAMILIES, n)]

CONFIGURATIONS: dict[str, list[str]] = {
    "one key, everything": [],
    "other key, everything, runtype": ["--api", "runtype", "--other-key", BOB],
    "read-only, everything, systemprompt": ["--api", "systemprompt", "--read-only", "--other-key", BOB],
    "other key": ["--other-key", BOB, *OURS],
    "readonly key": ["--readonly-key", READONLY, *OURS],
    "all keys": ["--other-key", BOB, "--readonly-key", READONLY, *OURS],
    "read-only, all keys": ["--read-only", "--other-key", BOB, "--readonly-key", READONLY, *OURS],
    "runtype only": ["--api", "runtype", "--other-key", BOB, *OURS],
    "systemprompt only": ["--api", "systemprompt", "--other-key", BOB, *OURS],
    "strict, all keys": ["--strict", "--other-key", BOB, "--readonly-key", READONLY, *OURS],
    **{f"only {s}": ["--only", s, "--other-key", BOB, "--readonly-key", READONLY] for s in SUBSETS},
}


def _run(args: list[str], report: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = main(["run", *FAST, *args, "--json", str(report)])
    out = capsys.readouterr()
    data: dict[str, Any] = json.loads(report.read_text())
    failures = [(r["check"], r["failures"][:1]) for r in data["results"] if r["status"] == "failed"]
    assert code == 0 and data["exitCode"] == 0, (failures, data["leftovers"], out.err[-2000:])
    assert data["summary"]["failed"] == 0 and data["leftovers"] == []
    return data


@pytest.mark.parametrize("name", list(CONFIGURATIONS), ids=list(CONFIGURATIONS))
def test_configuration_is_green_against_the_mock(
    name: str, mock: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = CONFIGURATIONS[name]
    data = _run(["--base-url", mock.base_url, "--api-key", ALICE, *args], tmp_path / "r.json", capsys)
    families = args[args.index("--only") + 1].split(",") if "--only" in args else list(FAMILIES)
    apis = [args[args.index("--api") + 1]] if "--api" in args else ["runtype", "systemprompt"]
    results = data["results"]
    assert data["target"]["apis"] == apis and data["target"]["families"] == families
    assert {r["family"] for r in results} == set(families)
    assert {r["api"] for r in results} == set(apis)
    assert data["summary"]["passed"] > 0
    if "--read-only" in args:
        journal = httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"]
        assert {e["method"] for e in journal} == {"GET"}
    state = httpx.get(f"{mock.base_url}/__mock__/state").json()
    assert [c["id"] for c in state["tenants"][ALICE]["runtype"]] == DEMO_RUNTYPE


def test_each_api_at_its_own_host_with_its_own_keys(
    spawn_mock: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two deployments that know different keys: a key sent to the wrong host would be refused.
    runtype = spawn_mock("--api", "runtype", "--key", "rt-main", "--key", "rt-other")
    systemprompt = spawn_mock("--api", "systemprompt", "--key", "sp-main", "--key", "sp-other")
    args = [
        "--runtype-url", runtype.base_url, "--runtype-key", "rt-main", "--runtype-other-key", "rt-other",
        "--systemprompt-url", systemprompt.base_url, "--systemprompt-key", "sp-main",
        "--systemprompt-other-key", "sp-other", "--only", ",".join(OUR_FAMILIES),
    ]  # fmt: skip
    report = tmp_path / "r.json"
    data = _run(args, report, capsys)
    assert {r["api"] for r in data["results"]} == {"runtype", "systemprompt"}
    # Each host saw only its own API, with its own keys only.
    for mock, prefix in ((runtype, "/v1/conversations"), (systemprompt, "/v1/conversation")):
        journal = httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"]
        assert journal and all(e["path"].startswith(prefix) for e in journal)
        assert not any(e["status"] == 401 and "[REDACTED]" in str(e["headers"]) for e in journal[:1])
    assert not any(k in report.read_text() for k in ("rt-main", "rt-other", "sp-main", "sp-other"))


def test_per_api_settings_come_from_the_environment_too(
    spawn_mock: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtype = spawn_mock("--api", "runtype", "--key", "rt-main")
    monkeypatch.setenv("CONVO_RUNTYPE_URL", runtype.base_url)
    monkeypatch.setenv("CONVO_RUNTYPE_KEY", "rt-main")
    data = _run(["--api", "runtype", "--only", "auth,semantics"], tmp_path / "r.json", capsys)
    assert {r["api"] for r in data["results"]} == {"runtype"}


def test_strict_turns_observations_into_a_failing_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Errors of another JSON shape: allowed (the docs leave the shape open), so observed.
    choice = next(c for c in CHOICES if c.name == "problem_json")
    report = tmp_path / "r.json"
    with BackgroundServer(choice.app()) as server:
        args = ["run", "--api", "runtype", "--base-url", server.base_url, "--api-key", ALICE, "--only", "auth"]
        lenient = main([*args, "--json", str(report)])
        observed = json.loads(report.read_text())
        strict = main([*args, "--strict", "--json", str(report)])
        failed = json.loads(report.read_text())
    capsys.readouterr()
    assert lenient == 0 and observed["exitCode"] == 0 and observed["summary"]["failed"] == 0
    assert any(r["status"] == "observed" for r in observed["results"])
    assert strict == 1 and failed["exitCode"] == 1 and failed["strict"] is True
