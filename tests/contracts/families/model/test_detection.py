"""Each sequence fault of the broken corpus is caught by the model family at its default
budget, with its shortest failing sequence as evidence, and by no other family (every check
of those judges one exchange, or a fixed scenario that never walks into these sequences).
Asserted on the JSON report's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpus.broken import Fault

from .helpers import ALICE, BOB, KEYS, MODEL_FAULTS, READONLY, failed_checks, report


def test_at_least_eight_sequence_faults_on_both_apis() -> None:
    assert len(MODEL_FAULTS) >= 8
    assert {f.api for f in MODEL_FAULTS} == {"runtype", "systemprompt"}


@pytest.mark.parametrize("fault", MODEL_FAULTS, ids=[f.name for f in MODEL_FAULTS])
def test_the_model_family_catches_each_sequence_fault(serve: Any, tmp_path: Path, fault: Fault) -> None:
    url = serve(fault)
    # The default examples and steps; the seconds out of the way, so that a busy machine
    # tries the same sequences as a quiet one.
    code, data, text = report(
        tmp_path, "--api", fault.api, "--base-url", url, *KEYS, "--only", "model", "--model-seconds", "600"
    )
    assert code == 1 and data["exitCode"] == 1
    failed = failed_checks(data)
    assert ("model", fault.check) in failed, failed
    assert {family for family, _ in failed} == {"model"}
    for result in data["results"]:
        for failure in result["failures"]:
            trail = failure["trail"]
            steps = trail["steps"]
            assert [s["number"] for s in steps] == list(range(1, len(steps) + 1))
            assert all(s["action"] and s["expected"] for s in steps) and trail["verdict"]["by"] == "model"
            assert steps[-1]["expected"] == failure["expected"]
            used = {s["credential"] for s in steps}
            keys = {"main": "${CONVO_API_KEY}", "other": "${CONVO_OTHER_KEY}"}
            assert trail["script"].startswith("#!/bin/sh") and all(keys[c] in trail["script"] for c in used)
    assert ALICE not in text and BOB not in text and READONLY not in text


@pytest.mark.parametrize("fault", MODEL_FAULTS, ids=[f.name for f in MODEL_FAULTS])
def test_no_other_family_catches_a_sequence_fault(serve: Any, tmp_path: Path, fault: Fault) -> None:
    url = serve(fault)
    others = "schemathesis,boundaries,auth,semantics"
    code, data, _ = report(
        tmp_path, "--api", fault.api, "--base-url", url, *KEYS, "--only", others, "--max-examples", "10"
    )
    assert failed_checks(data) == set(), [f for r in data["results"] for f in r["failures"]][:2]
    assert code == 0 and data["leftovers"] == []
