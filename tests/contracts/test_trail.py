"""A failure's trail: the requests it depends on and no other, values taken from earlier
answers, fingerprints that ignore what changes from run to run, and a reproduction script
that runs (sh, curl, python3) with the keys from the environment and shows the failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from contracts.cli import main
from contracts.trail import Recorded, Sent, Trail, Use, Verdict, fingerprint, needed, steps_of
from corpus.broken import FAULTS, FaultyApp
from mockserver.background import BackgroundServer
from specs.redact import Redactor

ALICE, BOB = "demo-alice", "demo-bob"


def _record(method: str, path: str, answer: object, body: object = None) -> Recorded:
    text = json.dumps(body) if body is not None else None
    return Recorded("main", method, path, (), (), text, body, 200, answer, json.dumps(answer))


def test_a_trail_keeps_only_what_the_failing_request_depends_on() -> None:
    records = [
        _record("POST", "/v1/conversations", {"id": "conv_a"}, {"title": "a"}),
        _record("POST", "/v1/conversations", {"id": "conv_b"}, {"title": "b"}),  # unrelated
        _record("DELETE", "/v1/conversations/conv_a", {"success": True}),  # touched the same id
        _record("GET", "/v1/conversations", {"conversations": []}),  # unrelated
        _record("GET", "/v1/conversations/conv_a", {"id": "conv_a"}),
    ]
    assert needed(records) == [0, 2, 4]
    steps = steps_of(records, "404 after the delete", Redactor([]))
    assert [s.method for s in steps] == ["POST", "DELETE", "GET"]
    assert steps[2].uses == (Use("conv_a", 1, "/id"),) and steps[2].expected == "404 after the delete"


def test_the_json_form_round_trips() -> None:
    sent = Sent(1, "other", "PUT", "/v1/x/%C3%A9", (("limit", "1"),), (("Content-Type", "application/json"),), "{}")
    trail = Trail((sent,), Verdict("status", ("404",), "runtype", "delete_then_get"), "#!/bin/sh\n")
    assert Trail.from_json(json.loads(json.dumps(trail.as_json()))) == trail


def test_fingerprints_ignore_ids_times_urls_and_what_else_a_list_holds() -> None:
    first = {"id": "conv_1", "updatedAt": "2026-01-01T00:00:00.123Z", "_link": "http://127.0.0.1:1/x", "t": "a"}
    second = {"id": "conv_2", "updatedAt": "2027-02-02T10:00:00Z", "_link": "http://127.0.0.1:2/x", "t": "a"}
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint({**second, "t": "b"})
    known = {"conv_1"}
    page = {"conversations": [{"id": "conv_1", "t": "a"}, {"id": "conv_other", "t": "z"}]}
    assert fingerprint(page, known) == fingerprint({"conversations": [{"id": "conv_1", "t": "a"}]}, known)
    assert fingerprint({"message": "conversation 'conv_1' not found"}, known) == fingerprint(
        {"message": "conversation 'conv_2' not found"}, {"conv_2"}
    )


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("python3") is None, reason="needs curl and python3")
def test_the_reproduction_script_runs_with_keys_from_the_environment(tmp_path: Path) -> None:
    fault = next(f for f in FAULTS if f.name == "get_cache_not_invalidated")
    report = tmp_path / "report.json"
    with BackgroundServer(FaultyApp(fault)) as server:
        args = ["--api", "runtype", "--base-url", server.base_url, "--api-key", ALICE, "--other-key", BOB]
        assert main(["run", *args, "--only", "model", "--model-seconds", "300", "--json", str(report)]) == 1
        # The read-your-writes failure (a cache also shows as stale timestamps, whose fields
        # below may agree).
        results = json.loads(report.read_text())["results"]
        failure = next(f for r in results if r["check"] == "read_your_writes" for f in r["failures"])
        trail = Trail.from_json(failure["trail"])
        script = tmp_path / "reproduce.sh"
        script.write_text(trail.script)
        assert ALICE not in trail.script and BOB not in trail.script
        env = {**os.environ, "CONVO_BASE_URL": server.base_url, "CONVO_API_KEY": ALICE, "CONVO_OTHER_KEY": BOB}
        ran = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=60)
        without_key = subprocess.run(["sh", str(script)], env={"PATH": os.environ["PATH"]}, capture_output=True)
    assert ran.returncode == 0, ran.stderr
    answers = [json.loads(line) for line in ran.stdout.splitlines()]
    assert len(answers) == len(trail.steps)
    # The failure shows again: the last read disagrees with the last write before it.
    writes = [i for i, s in enumerate(trail.steps) if s.method in ("POST", "PUT")]
    last_write, last_read = answers[writes[-1]], answers[-1]
    assert {k: last_read[k] for k in ("title", "modelId", "systemPrompt", "metadata", "messages")} != {
        k: last_write[k] for k in ("title", "modelId", "systemPrompt", "metadata", "messages")
    }
    assert without_key.returncode != 0 and b"CONVO_" in without_key.stderr
