"""Spec coverage from real runs against the mock (and a broken server), counted by hand."""

from __future__ import annotations

import json

import pytest

from contracts.coverage import Coverage, Kind, Scope, compute, coverage_dict
from contracts.samples import Sample
from mockserver import create_app

from .echoing import EchoingUnprocessable
from .sampling import recorded_run

LIST = "listConversations"


@pytest.fixture(scope="module")
def boundaries_run() -> Coverage:
    _, _, samples = recorded_run(create_app(), ["runtype"], ["boundaries"])
    scope = Scope(apis=("runtype",), families=("boundaries",), operations=frozenset({LIST}))
    return compute(samples, scope)


def test_one_family_one_operation_counts_exactly(boundaries_run: Coverage) -> None:
    # runtype.yaml, GET /v1/conversations, counted by hand:
    # statuses 200 400 401 403 500 (5); query constraints: source enum app, client_token and a
    # non-member (3), limit integer type, minimum 1 at and below (3); response fields:
    # conversations, 8 fields of ConversationSummary, pagination and its limit, hasMore,
    # nextCursor, the error object's error and message (15). Boundaries sends limit=1, 0, not-a-number and source=app,
    # client_token, not-in-enum: 200 and 400 seen, every constraint, every field.
    (api,) = boundaries_run.apis
    (op,) = api.operations
    assert op.operation_id == LIST
    statuses = {i.subject: i.covered for i in op.of_kind(Kind.STATUS)}
    assert statuses == {"200": True, "400": True, "401": False, "403": False, "500": False}
    constraints = [(i.subject, i.detail, i.covered) for i in op.of_kind(Kind.CONSTRAINT)]
    assert [(s, c) for s, _, c in constraints] == [("source", True)] * 3 + [("limit", True)] * 3
    fields = op.of_kind(Kind.RESPONSE_FIELD)
    assert len(fields) == 15 and all(f.covered for f in fields)
    assert (boundaries_run.covered, boundaries_run.documented) == (2 + 6 + 15, 5 + 6 + 15)
    assert boundaries_run.percent == pytest.approx(100 * 23 / 26)
    reasons = {i.subject: i.reason for i in boundaries_run.not_covered}
    assert reasons == {
        "401": "401 is provoked by the auth family, which was not run",
        "403": "403 needs --readonly-key",
        "500": "a 500 is documented but never provoked on purpose",
    }
    assert api.undocumented == []


def test_the_gate_both_ways(boundaries_run: Coverage) -> None:
    assert not boundaries_run.below(88.46)
    assert boundaries_run.below(88.47)


def test_undocumented_status_is_listed_with_a_curl() -> None:
    _, _, samples = recorded_run(EchoingUnprocessable(), ["runtype"], ["boundaries"])
    coverage = compute(samples, Scope(apis=("runtype",), families=("boundaries",)))
    found = {(u.operation_id, u.status): u for u in coverage.undocumented}
    listed = found[(LIST, 422)]
    # limit=0, limit=not-a-number, source=not-in-enum: three 422s from list alone.
    assert listed.count == 3
    assert listed.curl is not None and listed.curl.startswith("curl -X GET ")
    assert "/v1/conversations?" in listed.curl
    assert "demo-alice" not in listed.curl
    (op,) = [o for o in coverage.apis[0].operations if o.operation_id == LIST]
    assert {i.subject: i.covered for i in op.of_kind(Kind.STATUS)}["400"] is False


def _sample(**kwargs: object) -> Sample:
    base: dict[str, object] = {
        "api": "runtype",
        "operation_id": "createConversation",
        "method": "POST",
        "path": "/v1/conversations",
        "status": 400,
    }
    base.update(kwargs)
    return Sample(**base)  # type: ignore[arg-type]


def _covered(samples: list[Sample], operation: str = "createConversation") -> set[tuple[str, str]]:
    scope = Scope(apis=("runtype",), families=("boundaries",), operations=frozenset({operation}))
    coverage = compute(samples, scope)
    return {(i.subject, i.detail) for i in coverage.items if i.kind is Kind.CONSTRAINT and i.covered}


def test_what_exercises_a_constraint() -> None:
    assert _covered([_sample(body={"title": "a" * 500})]) == {("title", "maxLength 500: at the limit")}
    assert _covered([_sample(body={"title": "a" * 501})]) == {("title", "maxLength 500: past the limit")}
    assert _covered([_sample(body={"ownerId": ""})]) == {("ownerId", "minLength 1: below the limit")}
    assert _covered([_sample(body={"ownerId": None})]) == {("ownerId", "null: sent (not nullable)")}
    assert _covered([_sample(body={"metadata": 5})]) == {("metadata", "type object: a value of another type")}
    assert _covered([_sample(body=[1, 2])]) == {("(body)", "type object: a body of another type")}
    # Sent but never answered: not exercised.
    assert _covered([_sample(body={"title": "a" * 501}, status=None)]) == set()


def test_query_and_path_values_are_judged_as_text() -> None:
    listing = {"operation_id": LIST, "method": "GET", "body": None}
    assert _covered([_sample(**listing, query={"limit": "1"})], LIST) == {("limit", "minimum 1: at the bound")}
    assert _covered([_sample(**listing, query={"limit": "x"})], LIST) == {
        ("limit", "type integer: a value of another type")
    }
    scope = Scope(apis=("systemprompt",), families=("boundaries",), operations=frozenset({"getConversation"}))
    sample = Sample("systemprompt", "getConversation", "GET", "/base/v1/conversation/not-a-uuid", status=404)
    covered = {i.detail for i in compute([sample], scope).items if i.covered}
    assert covered == {"format uuid: a value that does not match", "a 404 response"}


def test_response_fields_need_a_documented_status() -> None:
    scope = Scope(apis=("runtype",), families=("semantics",), operations=frozenset({"getConversation"}))
    answer = {"id": "c1", "title": "t", "messages": []}
    wrong = Sample("runtype", "getConversation", "GET", "/v1/conversations/c1", status=418, response=answer)
    right = Sample("runtype", "getConversation", "GET", "/v1/conversations/c1", status=200, response=answer)
    fields = {i.subject for i in compute([wrong], scope).items if i.kind is Kind.RESPONSE_FIELD and i.covered}
    assert fields == set()
    fields = {i.subject for i in compute([right], scope).items if i.kind is Kind.RESPONSE_FIELD and i.covered}
    assert fields == {"id", "title", "messages"}


def test_reasons_follow_the_settings() -> None:
    scope = Scope(apis=("runtype",), families=("auth", "semantics"), read_only=True, has_readonly_key=True)
    reasons = {(i.operation_id, i.subject): i.reason for i in compute([], scope).not_covered}
    assert reasons[("deleteConversation", "204")] == "no conversation to delete in --read-only"
    assert reasons[("createConversation", "title")] == "--read-only: no POST is sent"
    assert (reasons[("getConversation", "404")] or "").startswith("no request reached this operation")
    two_xx = Sample("runtype", "createConversation", "POST", "/v1/conversations", status=201)
    scope = Scope(apis=("runtype",), families=("semantics",), operations=frozenset({"createConversation"}))
    by_subject = {i.subject: i.reason for i in compute([two_xx], scope).not_covered}
    assert by_subject["200"] == "the server answered 201 instead (each is documented)"


def test_coverage_dict_is_json_with_the_same_numbers(boundaries_run: Coverage) -> None:
    data = json.loads(json.dumps(coverage_dict(boundaries_run)))
    assert data["version"] == 1
    assert (data["covered"], data["documented"], data["percent"]) == (23, 26, 88.46)
    (api,) = data["apis"]
    (op,) = api["operations"]
    assert op["operationId"] == LIST and op["samples"] == 6
    assert sum(not i["covered"] for i in op["items"]) == 3
