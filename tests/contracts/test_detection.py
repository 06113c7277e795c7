"""The suite catches every deliberately broken server, naming the right check, and passes the
clean one."""

from typing import Any

import pytest

from contracts.cli import main
from corpus.broken import FAULTS, Fault

KEYS = ["--api-key", "demo-alice", "--other-key", "demo-bob", "--readonly-key", "demo-readonly"]


def run_cli(capsys: Any, *args: str) -> tuple[int, str]:
    code = main(["run", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_there_are_at_least_20_distinct_faults_across_all_families() -> None:
    assert len({f.name for f in FAULTS}) == len(FAULTS) >= 20
    assert {f.family for f in FAULTS} == {"schemathesis", "boundaries", "auth", "semantics"}
    assert {f.api for f in FAULTS} == {"runtype", "systemprompt"}


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_is_detected_and_named(serve: Any, capsys: Any, fault: Fault) -> None:
    url = serve(fault)
    # The family that must catch it, so CI stays fast; benchmarks/detection.py runs everything.
    code, out = run_cli(
        capsys, "--api", fault.api, "--base-url", url, *KEYS, "--only", fault.family, "--max-examples", "10"
    )
    assert code == 1, out
    assert f"· {fault.family} · {fault.check}" in out, out
    assert "reproduce: curl" in out or fault.check in ("defaults_applied",)
    assert "demo-alice" not in out and "demo-bob" not in out and "demo-readonly" not in out


@pytest.mark.parametrize("family", ["boundaries", "auth", "semantics"])
def test_clean_mock_passes_each_of_our_families(serve: Any, capsys: Any, family: str) -> None:
    code, out = run_cli(capsys, "--base-url", serve(None), *KEYS, "--only", family)
    assert code == 0, out
    assert "0 failed" in out.splitlines()[-1] or "conforming" in out.splitlines()[-1]
