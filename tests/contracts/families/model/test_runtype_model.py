"""The Runtype model judged on scripted sequences against real servers: the mock and every
conforming choice answer without a finding (the model accepts each allowed choice), and each
sequence fault is named by the check it breaks, on the step that shows it."""

from __future__ import annotations

import pytest

from contracts.families.model.core import Action
from corpus.conforming import CHOICES

from .helpers import failures, run_sequence, server

A = Action
OWNER, OTHER_OWNER = "convo-contracts-test-model-main0", "convo-contracts-test-model-main1"
LIST = "listConversations"


def everything() -> list[Action]:
    """Every operation, with partial bodies and unusual values, pages and both keys."""
    return [
        A("createConversation", "main", handle=0, body={"ownerId": OWNER, "title": "😀" * 500, "metadata": {}}),
        A("getConversation", "main", handle=0),
        A("createConversation", "main", handle=1, body={"ownerId": OWNER, "modelId": "e\u0301" * 127}),
        A("updateConversation", "main", handle=0, body={"messages": [{"id": "m1", "role": "user", "content": "中"}]}),
        A("updateConversation", "main", handle=0, body={"metadata": {"__proto__": None, "a": {"b": [1, 0.5]}}}),
        A("getConversation", "main", handle=0),
        A(LIST, "main", params={"ownerId": OWNER, "limit": 1}),
        A(LIST, "main", follow=True),
        A(LIST, "main", follow=True),
        A(LIST, "main", params={"source": "app", "limit": 2}),
        A(LIST, "main", params={"surface_id": "convo-contracts-test-no-such-surface"}),
        A("getConversation", "other", handle=0),
        A("updateConversation", "other", handle=1, body={"ownerId": "convo-contracts-test-model-other0"}),
        A("deleteConversation", "other", handle=1),
        A("getConversation", "main", handle=1),
        A(LIST, "other", params={"ownerId": OWNER}),
        A("updateConversation", "main", handle=1, body={"ownerId": OTHER_OWNER}),
        A(LIST, "main", params={"ownerId": OTHER_OWNER}),
        A("deleteConversation", "main", handle=0),
        A("getConversation", "main", handle=0),
        A("updateConversation", "main", handle=0, body={}),
        A(LIST, "main", params={"ownerId": OWNER}),
        A("getConversation", "main", listed=0),
    ]


def test_the_mock_answers_every_step_as_the_model_predicts() -> None:
    with server() as (url, _):
        steps = run_sequence(url, "runtype", everything())
    # Two conversations of that owner, one a page: the walk ends on page 2, no third is asked for.
    assert len(steps) == len(everything()) - 1
    assert failures(steps) == []
    assert [s.answer.status for s in steps][-4:-2] == [404, 404]  # get and update of a deleted one


RUNTYPE_CHOICES = [c for c in CHOICES if "runtype" in c.apis]


@pytest.mark.parametrize("choice", RUNTYPE_CHOICES, ids=[c.name for c in RUNTYPE_CHOICES])
def test_every_allowed_choice_passes_the_same_sequence(choice: object) -> None:
    with server(choice.name) as (url, _):  # type: ignore[attr-defined]
        steps = run_sequence(url, "runtype", everything())
    assert failures(steps) == [], [(s.number, s.problems) for s in steps if s.problems]


def test_another_key_answering_for_the_same_id_is_an_observation_not_a_failure() -> None:
    with server("shared_ids") as (url, _):
        steps = run_sequence(
            url,
            "runtype",
            [A("getConversation", "main", listed=0), A(LIST, "main"), A("getConversation", "other", listed=0)],
        )
    assert failures(steps) == []


def _created(handle: int = 0, **fields: object) -> Action:
    return A("createConversation", "main", handle=handle, body={"ownerId": OWNER, **fields})


# The shortest sequence that shows each fault, and the check that names it.
SEQUENCES: dict[str, tuple[list[Action], str]] = {
    "list_touches_updated_at": ([_created(), A(LIST, "main", params={"ownerId": OWNER})], "timestamps"),
    "get_cache_not_invalidated": (
        [
            _created(title="a"),
            A("getConversation", "main", handle=0),
            A("updateConversation", "main", handle=0, body={"title": "b"}),
            A("getConversation", "main", handle=0),
        ],
        "read_your_writes",
    ),
    "deleted_still_listed": (
        [_created(), A("deleteConversation", "main", handle=0), A(LIST, "main", params={"ownerId": OWNER})],
        "deleted_stays_deleted",
    ),
    "owner_filter_index_stale": (
        [
            _created(),
            A("updateConversation", "main", handle=0, body={"ownerId": OTHER_OWNER}),
            A(LIST, "main", params={"ownerId": OTHER_OWNER}),
        ],
        "list_matches_model",
    ),
    "cursor_drops_filters": (
        [
            _created(),
            A(LIST, "main", params={"source": "app", "limit": 1}),
            A(LIST, "main", follow=True),  # the page after ours is the demo's client_token one
        ],
        "list_matches_model",
    ),
    "list_cache_ignores_tenant": (
        [_created(), A(LIST, "main", params={"limit": 2}), A(LIST, "other", params={"limit": 2})],
        "tenants_apart",
    ),
    "messages_cleared_by_partial_update": (
        [
            _created(),
            A("updateConversation", "main", handle=0, body={"messages": [{"id": "m1"}]}),
            A("updateConversation", "main", handle=0, body={"title": "t"}),
        ],
        "merge_semantics",
    ),
    "update_revives_deleted": (
        [_created(), A("deleteConversation", "main", handle=0), A("updateConversation", "main", handle=0, body={})],
        "deleted_stays_deleted",
    ),
    "message_count_stale": (
        [
            _created(),
            A("updateConversation", "main", handle=0, body={"messages": [{"id": "m1"}]}),
            A(LIST, "main", params={"ownerId": OWNER}),
        ],
        "list_matches_model",
    ),
}


@pytest.mark.parametrize("name", list(SEQUENCES), ids=list(SEQUENCES))
def test_each_sequence_fault_is_named_on_the_step_that_shows_it(name: str) -> None:
    actions, check = SEQUENCES[name]
    with server(name) as (url, _):
        steps = run_sequence(url, "runtype", actions)
    assert failures(steps[:-1]) == []  # nothing before the last step shows it
    assert check in failures(steps[-1:])
    with server() as (url, _):  # the same sequence on the mock: nothing
        assert failures(run_sequence(url, "runtype", actions)) == []


def test_the_other_keys_update_showing_in_the_owners_read_is_named_tenants_apart() -> None:
    with server("tenant_isolation_broken") as (url, _):
        steps = run_sequence(
            url,
            "runtype",
            [
                _created(),
                A("updateConversation", "other", handle=0, body={"ownerId": "convo-contracts-test-model-other0"}),
                A("getConversation", "main", handle=0),
            ],
        )
    assert "tenants_apart" in failures(steps)


def test_the_other_keys_delete_is_named_tenants_apart() -> None:
    with server("tenant_isolation_broken") as (url, _):
        steps = run_sequence(
            url,
            "runtype",
            [_created(), A("deleteConversation", "other", handle=0), A("getConversation", "main", handle=0)],
        )
    assert failures(steps)[:1] == ["tenants_apart"]
