"""The verdict policy on Schemathesis' failing checks for error answers: another JSON shape
or JSON media type is the server's choice (rule 6, an observation); an answer that is no
JSON at all where only JSON is documented is a failure, proved by one check."""

from __future__ import annotations

import pytest

import specs
from contracts.families.schemathesis.events import Case, Check
from contracts.families.schemathesis.ruling import Verdict, judge

GET = specs.load("runtype").operation("getConversation")


def _case(content_type: str, body: str) -> Case:
    response = {"status_code": 404, "headers": {"Content-Type": [content_type]}, "content": body}
    return Case("GET", GET.path, request={"uri": "http://h/v1/conversations/x"}, response=response)


def _ruled(check: str, case: Case) -> Verdict | None:
    ruling = judge(GET, Check(check, "failure", "ST1", "title", "message"), case)
    return None if ruling is None else ruling.kind


HTML = "<html><body><h1>404 Not Found</h1></body></html>"


@pytest.mark.parametrize(
    ("content_type", "body", "content_type_check", "schema_check"),
    [
        ("text/html", HTML, Verdict.FAILURE, None),  # the media type proves it; one verdict
        ("application/json", HTML, None, Verdict.FAILURE),  # labelled JSON, not JSON: the schema check's
        ("application/json", '{"detail": "no such conversation"}', Verdict.OBSERVATION, Verdict.OBSERVATION),
        ("application/problem+json", '{"title": "Not Found"}', Verdict.OBSERVATION, Verdict.OBSERVATION),
    ],
    ids=["html page", "html labelled json", "json of another shape", "problem+json"],
)
def test_an_error_that_is_no_json_at_all_is_a_failure_another_json_shape_is_not(
    content_type: str, body: str, content_type_check: Verdict | None, schema_check: Verdict | None
) -> None:
    case = _case(content_type, body)
    assert _ruled("content_type_conformance", case) is content_type_check
    assert _ruled("response_schema_conformance", case) is schema_check
    assert _ruled("response_headers_conformance", case) is Verdict.OBSERVATION
