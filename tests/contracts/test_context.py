"""`Context.send`'s jobs, each by its name: whose credential, --read-only, and what is done
with every answer (sample, created id, verdicts), against a real mock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import specs
from contracts.context import RESPONSE_MATCHES_SPEC, Context, ReadOnlyViolation
from contracts.results import Evidence, Failure, Outcome, Status
from contracts.target import Client, Credential, Target
from mockserver import create_app
from mockserver.background import BackgroundServer


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with BackgroundServer(create_app()) as server:
        yield server.base_url


def _context(base_url: str, **target: object) -> Context:
    made = Target(base_url=base_url, api_key="demo-alice", **target)  # type: ignore[arg-type]
    return Context(made, "runtype", "semantics", Client(made, "runtype"), "convo-contracts-ctx")


def _journal(base_url: str) -> list[dict[str, object]]:
    requests: list[dict[str, object]] = httpx.get(f"{base_url}/__mock__/requests").json()["requests"]
    return requests


def test_each_credential_sends_its_own_key_or_none(base_url: str) -> None:
    ctx = _context(base_url, other_key="demo-bob", readonly_key="demo-readonly")
    listing = ctx.spec.operation("listConversations")
    statuses = {c: ctx.send(listing, credential=c).response for c in Credential}
    assert {c: r.status_code for c, r in statuses.items() if r is not None} == {
        Credential.MAIN: 200,
        Credential.OTHER: 200,
        Credential.READONLY: 200,
        Credential.NONE: 401,
    }
    sent = [r.request.headers.get("authorization") for r in statuses.values() if r is not None]
    assert sent == ["Bearer demo-alice", "Bearer demo-bob", "Bearer demo-readonly", None]


def test_a_credential_the_run_was_not_given_is_the_suites_bug_before_sending(base_url: str) -> None:
    ctx = _context(base_url)
    before = len(_journal(base_url))
    with pytest.raises(ValueError, match="no other key"):
        ctx.send(ctx.spec.operation("listConversations"), credential=Credential.OTHER)
    assert len(_journal(base_url)) == before


def test_read_only_refuses_a_write_before_it_leaves(base_url: str) -> None:
    ctx = _context(base_url, read_only=True)
    before = len(_journal(base_url))
    with pytest.raises(ReadOnlyViolation):
        ctx.send(ctx.spec.operation("createConversation"), json={"title": "x"})
    assert len(_journal(base_url)) == before and ctx.samples == []


def test_every_answer_is_sampled_judged_and_its_creation_noted(base_url: str) -> None:
    ctx = _context(base_url)
    create = ctx.spec.operation("createConversation")
    exchange = ctx.send(create, json={"ownerId": "convo-contracts-ctx"})
    assert exchange.response is not None and exchange.response.status_code == 201
    assert ctx.created == [exchange.response.json()["id"]]
    (sample,) = ctx.samples
    assert (sample.operation_id, sample.status, sample.source) == ("createConversation", 201, "families")
    outcome = ctx.outcomes[("runtype", "createConversation", "semantics", RESPONSE_MATCHES_SPEC)]
    assert outcome.status is Status.PASSED
    delete = ctx.spec.operation("deleteConversation")
    ctx.send(delete, delete.path.replace("{id}", ctx.created[0]))


def _outcome() -> Outcome:
    op = specs.load("runtype").operation("listConversations")
    return Outcome("runtype", op.operation_id, op.method, op.path, "semantics", "pagination")


def test_outcome_status_changes_only_through_its_own_methods() -> None:
    skipped = _outcome()
    skipped.mark_skipped("needs --other-key")
    assert (skipped.status, skipped.note) == (Status.SKIPPED, "needs --other-key")
    skipped.count_case()
    assert (skipped.status, skipped.note, skipped.cases) == (Status.PASSED, None, 1)
    failed = _outcome()
    failed.add_failure(Failure("a page of at most 2", Evidence("3 items"), "p"))
    failed.mark_skipped("create does not work")
    failed.mark_checked()
    assert (failed.status, failed.note) == (Status.FAILED, None)
