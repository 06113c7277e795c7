"""Running a machine: when Hypothesis stops because the same draws met other answers (Flaky),
that is no bug of the suite and no verdict: the stop is an observation (what was found
before it is kept as ever). Hypothesis itself is made to see it: a rule enabled by outside state."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from contracts.context import Context
from contracts.families.model.core import Action
from contracts.families.model.explore import REPEATABLE, Budget, Explorer, run_machine
from contracts.families.model.machines import ModelMachine
from contracts.target import Client, Target

from .helpers import ALICE, server

LIST = "listConversations"


def _explore(url: str) -> tuple[Context, Explorer]:
    target = Target(base_url=url, api_key=ALICE)
    ctx = Context(target, "runtype", "model", Client(target, "runtype"), "convo-contracts-test")
    explorer = Explorer(ctx, Budget(50, 6, 60.0))

    class Wobbly(ModelMachine):
        """Which rules may run depends on how many sequences came before: the same draws
        mean other steps the next time (what a server keeping state between sequences did
        to the machine's preconditions)."""

        x = explorer

        @rule(limit=st.integers(1, 3))
        def list_some(self, limit: int) -> None:
            self.act(Action(LIST, "main", params={"limit": limit}))

        @precondition(lambda self: self.x.sequences % 3 == 0)
        @rule()
        def sometimes(self) -> None:
            self.act(Action(LIST, "main", params={"limit": 1}))

    try:
        run_machine(explorer, Wobbly)
    finally:
        ctx.client.close()
    return ctx, explorer


def _observed(ctx: Context) -> list[Any]:
    return [o for out in ctx.outcomes.values() if out.check == REPEATABLE for o in out.observations]


def test_unrepeatable_answers_with_nothing_found_are_an_observation() -> None:
    with server() as (url, _):
        ctx, explorer = _explore(url)
    assert explorer.unrepeatable is not None and explorer.findings == {}
    assert len(_observed(ctx)) == 1
    assert not [o for o in ctx.outcomes.values() if o.failures]
    assert "not a verdict" in _observed(ctx)[0].what
