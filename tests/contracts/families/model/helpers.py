"""Running scripted sequences through the model against real servers (the mock, a broken
or conforming variant of it, on 127.0.0.1), and running the suite's CLI for reports."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contracts.cli import main
from contracts.context import Context
from contracts.families.model.core import Action, Step
from contracts.families.model.explore import Budget, Explorer
from contracts.families.model.sequence import Run, new_model
from contracts.target import Client, Target
from corpus.broken import FAULTS, FaultyApp, Rewrite
from corpus.conforming import CHOICES
from mockserver.background import BackgroundServer

ALICE, BOB, READONLY = "demo-alice", "demo-bob", "demo-readonly"
KEYS = ["--api-key", ALICE, "--other-key", BOB, "--readonly-key", READONLY]
MODEL_FAULTS = [f for f in FAULTS if f.family == "model"]


def rewrite(name: str | None) -> Rewrite | None:
    """A fault or a conforming choice by name; None: the plain mock."""
    if name is None:
        return None
    candidates: list[Rewrite] = [*FAULTS, *CHOICES]
    found = next((f for f in candidates if f.name == name), None)
    assert found is not None, name
    return found


@contextmanager
def server(name: str | None = None) -> Iterator[tuple[str, FaultyApp]]:
    found = rewrite(name)
    app = FaultyApp(found, getattr(found, "setup", None))
    with BackgroundServer(app) as running:
        yield running.base_url, app
    assert not app.errors, app.errors


def run_sequence(base_url: str, api: str, actions: Iterable[Action], writable: str | None = None) -> list[Step]:
    """The actions through a fresh model, as the state machine sends them; every step."""
    target = Target(base_url=base_url, api_key=ALICE, other_key=BOB)
    ctx = Context(target, api, "model", Client(target, api), "convo-contracts-test")
    explorer = Explorer(ctx, Budget(1, 100, 60.0), writable)
    run = Run(new_model(api, writable), explorer.send)
    try:
        for action in actions:
            run.run(action)
    finally:
        explorer.tidy(run)
        ctx.client.close()
    return run.steps


def failures(steps: list[Step]) -> list[str]:
    return [p.check for s in steps for p in s.problems if not p.observation]


def report(tmp_path: Path, *args: str, name: str = "report.json") -> tuple[int, dict[str, Any], str]:
    path = tmp_path / name
    code = main(["run", *args, "--json", str(path)])
    text = path.read_text()
    return code, json.loads(text), text


def failed_checks(data: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["family"], r["check"]) for r in data["results"] if r["status"] == "failed"}
