"""The model family in every configuration a user may choose, against the mock and against
every conforming server of the false-alarm corpus: exit 0, no failure, nothing left behind,
reads only under --read-only, the written systemprompt.io metadata put back."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from corpus.conforming import CHOICES, Choice
from mockserver.background import BackgroundServer
from specs.auth import scheme_of

from .helpers import ALICE, BOB, READONLY, report

# Bounded by examples (the same sequences on a slow machine), smaller than the default.
BUDGET = ["--model-examples", "25", "--model-seconds", "300"]
DEMO = {ALICE: ["conv_demo1_1", "conv_demo1_2", "conv_demo1_3"], BOB: ["conv_demo2_1", "conv_demo2_2", "conv_demo2_3"]}
CONFIGURATIONS: dict[str, list[str]] = {
    "one key": [],
    "two keys": ["--other-key", BOB],
    "three keys": ["--other-key", BOB, "--readonly-key", READONLY],
    "read-only, one key": ["--read-only"],
    "read-only, two keys": ["--read-only", "--other-key", BOB],
}


def _green(data: dict[str, Any], code: int) -> None:
    failures = [(r["check"], f["expected"][:200]) for r in data["results"] for f in r["failures"]]
    assert failures == [] and code == 0 and data["exitCode"] == 0, failures
    assert data["leftovers"] == [] and data["summary"]["passed"] > 0
    assert {r["family"] for r in data["results"]} == {"model"}


@pytest.mark.parametrize("name", list(CONFIGURATIONS), ids=list(CONFIGURATIONS))
def test_green_against_the_mock(name: str, mock: Any, tmp_path: Path) -> None:
    headers = scheme_of("systemprompt").headers(ALICE)
    before = httpx.get(f"{mock.base_url}/v1/conversation", headers=headers).json()[0]
    code, data, _ = report(tmp_path, "--base-url", mock.base_url, "--api-key", ALICE, *CONFIGURATIONS[name],
                           "--only", "model", *BUDGET)  # fmt: skip
    _green(data, code)
    assert {r["api"] for r in data["results"]} == {"runtype", "systemprompt"}
    state = httpx.get(f"{mock.base_url}/__mock__/state").json()["tenants"]
    for key, ids in DEMO.items():
        assert [c["id"] for c in state[key]["runtype"]] == ids  # every conversation made was deleted
    journal = httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"]
    if "--read-only" in CONFIGURATIONS[name]:
        assert {e["method"] for e in journal} == {"GET"}
    else:
        # The one systemprompt.io conversation written has its metadata's values back.
        after = httpx.get(f"{mock.base_url}/v1/conversation/{before['id']}", headers=headers).json()
        assert {k: after["metadata"].get(k) for k in before["metadata"]} == before["metadata"]


def test_each_api_at_its_own_host_with_its_own_keys(spawn_mock: Any, tmp_path: Path) -> None:
    runtype = spawn_mock("--api", "runtype", "--key", "rt-main", "--key", "rt-other")
    systemprompt = spawn_mock("--api", "systemprompt", "--key", "sp-main", "--key", "sp-other")
    code, data, text = report(
        tmp_path,
        "--runtype-url", runtype.base_url, "--runtype-key", "rt-main", "--runtype-other-key", "rt-other",
        "--systemprompt-url", systemprompt.base_url, "--systemprompt-key", "sp-main",
        "--systemprompt-other-key", "sp-other", "--only", "model", *BUDGET,
    )  # fmt: skip
    _green(data, code)
    for mock, prefix in ((runtype, "/v1/conversations"), (systemprompt, "/v1/conversation")):
        journal = httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"]
        assert journal and all(e["path"].startswith(prefix) for e in journal)
    assert not any(k in text for k in ("rt-main", "rt-other", "sp-main", "sp-other"))


# Three keys run the model as two do (it has no use for the read-only key); per-API hosts
# are the mock's case above.
CASES = [(c, setting) for c in CHOICES for setting in ("one key", "two keys", "read-only, one key")]


@pytest.mark.parametrize(("choice", "setting"), CASES, ids=[f"{c.name}-{s}" for c, s in CASES])
def test_every_conforming_server_passes(choice: Choice, setting: str, tmp_path: Path) -> None:
    with BackgroundServer(choice.app()) as server:
        code, data, _ = report(tmp_path, "--base-url", server.base_url, "--api-key", ALICE,
                               *CONFIGURATIONS[setting], "--only", "model", *BUDGET)  # fmt: skip
    _green(data, code)


def _sent(mock: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """What the mock was sent, ids and cursors aside: method, path shape, query names."""
    journal = httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"]
    return [(e["method"], _shape(e["path"]), _names(e.get("query") or "")) for e in journal]


def _shape(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:3]) + ("/{id}" if len(parts) > 3 else "")


def _names(query: str) -> tuple[str, ...]:
    return tuple(sorted(name for name, _ in parse_qsl(query)))


def test_the_same_seed_sends_the_same_sequences(spawn_mock: Any, tmp_path: Path) -> None:
    runs = []
    for seed in ("7", "7", "8"):
        fresh = spawn_mock()
        args = ["--api", "runtype", "--base-url", fresh.base_url, "--api-key", ALICE, "--other-key", BOB]
        code, data, _ = report(tmp_path, *args, "--only", "model", "--model-examples", "5", "--seed", seed, *BUDGET[2:])
        _green(data, code)
        runs.append(_sent(fresh))
    assert runs[0] == runs[1] and runs[0] != runs[2]
