"""`convo-contracts replay REPORT.json`: each recorded failure sent again, still failing
against the broken server (exit 1), fixed against the same server without its fault (exit 0),
for the model family's sequences and for other families' recorded requests alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts.cli import main
from contracts.replay import FIXED, NOT_REPLAYED, STILL_FAILING, exit_code, read_report, replay_all
from contracts.settings import resolve
from corpus.broken import FAULTS, FaultyApp
from mockserver.background import BackgroundServer

ALICE, BOB = "demo-alice", "demo-bob"
KEYS = ["--api-key", ALICE, "--other-key", BOB]
# The model family bounded by examples, not seconds: the same sequences on a busy machine.
MODEL = ["--only", "model", "--model-seconds", "300"]


def _fault(name: str) -> Any:
    return next(f for f in FAULTS if f.name == name)


def _recorded(tmp_path: Path, name: str, *args: str) -> Path:
    """The JSON report of a run against the broken server `name`."""
    fault = _fault(name)
    path = tmp_path / f"{name}.json"
    with BackgroundServer(FaultyApp(fault)) as server:
        code = main(["run", "--api", fault.api, "--base-url", server.base_url, *KEYS, *args, "--json", str(path)])
    assert code == 1
    return path


def _replayed(report: Path, api: str, fault: Any) -> tuple[list[Any], list[str], list[str]]:
    """Replay against a fresh server with `fault` (None: the mock); what the mock holds after."""
    app = FaultyApp(fault)
    with BackgroundServer(app) as server:
        settings = resolve({"api": api, "base_url": server.base_url, "api_key": ALICE, "other_key": BOB})
        done, leftovers = replay_all(read_report(report), settings)
        runtype = [c["id"] for c in app.store.dump()["tenants"][ALICE]["runtype"]]
        runtype += [c["id"] for c in app.store.dump()["tenants"][BOB]["runtype"]]
    return done, leftovers, runtype


DEMO = ["conv_demo1_1", "conv_demo1_2", "conv_demo1_3", "conv_demo2_1", "conv_demo2_2", "conv_demo2_3"]


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("get_cache_not_invalidated", "model"),  # the model run again over the same actions
        ("pages_overlap_with_custom_limit", "model"),
        ("delete_not_deleting", "semantics"),  # a status the failure wanted
        ("update_not_persisted", "semantics"),  # the same answers as when it failed
        ("crash_on_unicode", "boundaries"),  # a 5xx
    ],
)
def test_still_failing_against_the_broken_server_fixed_without_its_fault(
    tmp_path: Path, name: str, family: str
) -> None:
    fault = _fault(name)
    extra = MODEL if family == "model" else ["--only", family]
    report = _recorded(tmp_path, name, *extra)
    recorded = read_report(report)
    assert recorded and all(r.trail is not None for r in recorded)
    still, leftovers, _ = _replayed(report, fault.api, fault)
    assert [r.verdict for r in still] == [STILL_FAILING] * len(recorded), [r.why for r in still]
    assert exit_code(still, leftovers) == 1 and leftovers == []
    fixed, leftovers, after = _replayed(report, fault.api, None)
    assert [r.verdict for r in fixed] == [FIXED] * len(recorded), [r.why for r in fixed]
    assert exit_code(fixed, leftovers) == 0 and leftovers == []
    # What the replay created was deleted, by each key that made it (a broken server may keep
    # what it claims to delete: judged on the fixed one).
    assert sorted(after) == DEMO


def test_the_cli_exits_1_while_failing_and_0_once_fixed(tmp_path: Path) -> None:
    fault = _fault("messages_cleared_by_partial_update")
    report = _recorded(tmp_path, fault.name, *MODEL)
    with BackgroundServer(FaultyApp(fault)) as broken:
        assert main(["replay", str(report), "--api", "runtype", "--base-url", broken.base_url, *KEYS]) == 1
    with BackgroundServer(FaultyApp(None)) as fixed:
        assert main(["replay", str(report), "--api", "runtype", "--base-url", fixed.base_url, *KEYS]) == 0


def test_a_failure_that_needs_a_key_not_given_is_not_replayed(tmp_path: Path) -> None:
    fault = _fault("list_cache_ignores_tenant")
    report = _recorded(tmp_path, fault.name, *MODEL)
    with BackgroundServer(FaultyApp(fault)) as server:
        settings = resolve({"api": "runtype", "base_url": server.base_url, "api_key": ALICE})
        done, _ = replay_all(read_report(report), settings)
    needing = [r for r in done if any(s.credential == "other" for s in r.failure.trail.steps)]  # type: ignore[union-attr]
    assert needing and all(r.verdict == NOT_REPLAYED and "--other-key" in r.why for r in needing)
    assert exit_code(needing, []) == 2


def test_a_report_that_cannot_be_read_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "report.json"
    garbage.write_text("{not json")
    assert main(["replay", str(garbage), "--base-url", "http://127.0.0.1:9", "--api-key", ALICE]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    missing = tmp_path / "missing.json"
    assert main(["replay", str(missing), "--base-url", "http://127.0.0.1:9", "--api-key", ALICE]) == 2


def test_a_report_without_failures_replays_nothing_and_exits_0(tmp_path: Path) -> None:
    report = tmp_path / "clean.json"
    report.write_text(json.dumps({"version": 1, "results": [{"api": "runtype", "failures": []}]}))
    with BackgroundServer(FaultyApp(None)) as server:
        assert main(["replay", str(report), "--api", "runtype", "--base-url", server.base_url, "--api-key", ALICE]) == 0
