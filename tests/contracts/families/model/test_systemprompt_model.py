"""The systemprompt.io model judged on scripted sequences: the mock and every conforming
choice pass (metadata merged or replaced, upper-case uuids found or not, one id space per
key...), and each sequence fault is named by its check on the step that shows it."""

from __future__ import annotations

import httpx
import pytest

from contracts.families.model.core import Action
from contracts.families.model.systemprompt import MARK
from corpus.conforming import CHOICES
from specs.auth import scheme_of

from .helpers import ALICE, failures, run_sequence, server

A = Action
LIST = "listConversations"


def uuids(url: str) -> list[str]:
    listed = httpx.get(f"{url}/v1/conversation", headers=scheme_of("systemprompt").headers(ALICE)).json()
    return [c["id"] for c in listed]


def everything(first: str, second: str) -> list[Action]:
    return [
        A(LIST, "main", params={"limit": 1}),
        A(LIST, "main", follow=True),
        A(LIST, "main", follow=True),
        A("getConversation", "main", uuid=first),
        A("updateConversation", "main", uuid=first, body={"metadata": {"title": "𝔘" * 3, "n": None}}),
        A("getConversation", "main", uuid=first.upper()),
        A("updateConversation", "main", uuid=first, body={"metadata": {MARK: "convo-contracts-test-main-mark-1"}}),
        A("updateConversation", "main", uuid=first, body={}),
        A("getConversation", "main", uuid=first),
        A("getConversation", "main", uuid=second),
        A(LIST, "main", params={"page": 0, "limit": 0}),
        A(LIST, "main", params={"page": 2, "limit": 21}),
        A("getConversation", "other", uuid=first),
        A("updateConversation", "other", uuid=first, body={"metadata": {MARK: "convo-contracts-test-other-mark-1"}}),
        A("getConversation", "main", uuid=first),
        A(LIST, "other"),
        A(LIST, "main"),
    ]


def test_the_mock_answers_every_step_as_the_model_predicts() -> None:
    with server() as (url, _):
        first, second = uuids(url)
        steps = run_sequence(url, "systemprompt", everything(first, second), writable=first)
    assert len(steps) == len(everything(first, second))
    assert steps[2].answer.body == []  # two conversations, one a page: the third page ends the walk
    assert failures(steps) == []


SYSTEMPROMPT_CHOICES = [c for c in CHOICES if "systemprompt" in c.apis]


@pytest.mark.parametrize("choice", SYSTEMPROMPT_CHOICES, ids=[c.name for c in SYSTEMPROMPT_CHOICES])
def test_every_allowed_choice_passes_the_same_sequence(choice: object) -> None:
    with server(choice.name) as (url, _):  # type: ignore[attr-defined]
        first, second = uuids(url)
        steps = run_sequence(url, "systemprompt", everything(first, second), writable=first)
    assert failures(steps) == [], [(s.number, s.problems) for s in steps if s.problems]


def test_a_case_sensitive_server_is_an_observation() -> None:
    with server("case_sensitive_uuids") as (url, _):
        first, _second = uuids(url)
        steps = run_sequence(url, "systemprompt", [A("getConversation", "main", uuid=first.upper())], writable=first)
    assert failures(steps) == []
    assert [p.check for p in steps[0].problems if p.observation] == ["own_conversations_reachable"]


def _sequences(first: str, second: str) -> dict[str, tuple[list[Action], str]]:
    return {
        "upper_case_uuid_writes_a_copy": (
            [
                A("updateConversation", "main", uuid=first.upper(), body={"metadata": {"k": "v"}}),
                A("getConversation", "main", uuid=first),
            ],
            "read_your_writes",
        ),
        "pages_overlap_with_custom_limit": (
            [A(LIST, "main", params={"limit": 1}), A(LIST, "main", follow=True)],
            "pages_consistent",
        ),
        "update_leaks_to_siblings": (
            [
                A(LIST, "main"),
                A("updateConversation", "main", uuid=first, body={"metadata": {"k": "v"}}),
                A(LIST, "main"),  # the other conversation listed carries the update too
            ],
            "list_matches_model",
        ),
        "systemprompt_tenant_shared": (
            [
                A("updateConversation", "main", uuid=first, body={"metadata": {MARK: "convo-contracts-test-main-m"}}),
                A("getConversation", "other", uuid=first),
            ],
            "tenants_apart",
        ),
    }


@pytest.mark.parametrize(
    "name",
    ["upper_case_uuid_writes_a_copy", "pages_overlap_with_custom_limit", "update_leaks_to_siblings",
     "systemprompt_tenant_shared"],
)  # fmt: skip
def test_each_sequence_fault_is_named_on_the_step_that_shows_it(name: str) -> None:
    with server(name) as (url, _):
        first, second = uuids(url)
        actions, check = _sequences(first, second)[name]
        steps = run_sequence(url, "systemprompt", actions, writable=first)
    assert failures(steps[:-1]) == []
    assert check in failures(steps[-1:])
    with server() as (url, _):
        assert failures(run_sequence(url, "systemprompt", actions, writable=first)) == []
