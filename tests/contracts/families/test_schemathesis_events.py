"""Schemathesis' NDJSON events read back: check names, the real operation of each case,
tool errors apart from server errors, and which failing checks are only observations."""

import base64
import json
from pathlib import Path
from typing import Any

import specs
from contracts.context import Context
from contracts.families.schemathesis import _record
from contracts.families.schemathesis.events import read_events
from contracts.families.schemathesis.ruling import Verdict, judge
from contracts.target import Client, Target
from specs.redact import Redactor


def b64(text: str) -> dict[str, str]:
    return {"$base64": base64.b64encode(text.encode()).decode()}


def scenario(method: str, path: str, status: int, checks: list[dict[str, Any]], query: str = "") -> dict[str, Any]:
    value = {"method": method, "path": path, "meta": {"generation": {"mode": "positive"}}}
    request = {"method": method, "uri": f"http://h{path}{query}", "headers": {"api-key": ["[Filtered]"]}}
    response = {"status_code": status, "headers": {"content-type": ["application/json"]}, "content": b64('{"e": 1}')}
    recorder = {
        "label": "Stateful tests",
        "cases": {"c1": {"value": value}},
        "checks": {"c1": checks},
        "interactions": {"c1": {"request": request, "response": response}},
    }
    return {"ScenarioFinished": {"phase": "stateful", "status": "failure", "recorder": recorder}}


def failing(name: str, code: str = "ST000") -> dict[str, Any]:
    return {
        "name": name,
        "status": "failure",
        "failure_info": {"failure": {"code": code, "title": "T", "message": "m"}},
    }


def write(tmp_path: Path, *events: dict[str, Any]) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + '{"EngineFinished": {"running_time": 1}}\n{"cut')
    return path


def test_cases_keep_their_real_operation_check_names_and_response(tmp_path: Path) -> None:
    run = read_events(
        write(
            tmp_path,
            scenario("GET", "/v1/conversation", 400, [failing("positive_data_acceptance")], "?limit=-5"),
            {"NonFatalError": {"value": {"type": "ReadTimeout", "message": "slow"}, "label": "GET /v1/conversation"}},
        )
    )
    assert run.finished and run.tool_error is None
    (case,) = run.cases
    assert (case.label, case.status, case.response_json()) == ("GET /v1/conversation", 400, {"e": 1})
    assert [c.name for c in case.checks] == ["positive_data_acceptance"]
    assert [u.label for u in run.server_errors] == ["GET /v1/conversation"]


def test_an_internal_error_of_schemathesis_is_a_tool_error_not_a_verdict(tmp_path: Path) -> None:
    race = {"type": "SystemError", "message": "AST constructor recursion depth mismatch"}
    run = read_events(write(tmp_path, {"NonFatalError": {"value": race, "label": "PUT /v1/conversation/{uuid}"}}))
    assert run.tool_error is not None and "SystemError" in run.tool_error and not run.server_errors


def test_rulings_where_the_documentation_is_silent(tmp_path: Path) -> None:
    listing = specs.load("systemprompt").operation("listConversations")
    create = specs.load("runtype").operation("createConversation")
    run = read_events(
        write(
            tmp_path,
            scenario("GET", "/v1/conversation", 400, [failing("positive_data_acceptance")], "?limit=-5"),
            scenario("GET", "/v1/conversation", 422, [failing("status_code_conformance", "ST103")]),
            scenario("POST", "/v1/conversations", 422, [failing("status_code_conformance", "ST103")]),
            scenario("POST", "/v1/conversations", 500, [failing("missing_required_header")]),
        )
    )
    stricter, other_status, runtype_status, crash = run.cases
    ruling = judge(listing, stricter.checks[0], stricter)
    assert ruling is not None and ruling.kind is Verdict.OBSERVATION and "limit=-5" in ruling.why
    ruling = judge(listing, other_status.checks[0], other_status)
    assert ruling is not None and ruling.kind is Verdict.OBSERVATION
    # Runtype documents 400 for create: another 4xx there breaks the documented contract.
    ruling = judge(create, runtype_status.checks[0], runtype_status)
    assert ruling is not None and ruling.kind is Verdict.FAILURE and "status_code_conformance" in ruling.why
    assert judge(create, crash.checks[0], crash) is None  # a 5xx is not_a_server_error's alone


def test_each_case_is_a_coverage_sample_with_its_query_and_bodies(tmp_path: Path) -> None:
    run = read_events(write(tmp_path, scenario("GET", "/v1/conversation", 400, [], "?limit=-5&page=2")))
    (case,) = run.cases
    sample = case.sample("systemprompt", "listConversations", Redactor(["sk-secret-value"]))
    assert (sample.path, sample.query, sample.status, sample.response) == (
        "/v1/conversation",
        {"limit": "-5", "page": "2"},
        400,
        {"e": 1},
    )
    assert sample.source == "schemathesis" and sample.curl is not None and "api-key: [REDACTED]" in sample.curl


def test_no_answer_within_the_timeout_is_an_observation_a_broken_answer_a_failure(tmp_path: Path) -> None:
    label = "GET /v1/conversation"
    run = read_events(
        write(
            tmp_path,
            {"NonFatalError": {"value": {"type": "ReadTimeout", "message": "slow"}, "label": label}},
            {"NonFatalError": {"value": {"type": "ConnectionError", "message": "refused"}, "label": label}},
            {"NonFatalError": {"value": {"type": "ChunkedEncodingError", "message": "cut"}, "label": label}},
        )
    )
    assert [(u.message.split(":")[0], u.transport) for u in run.server_errors] == [
        ("ReadTimeout", True),
        ("ConnectionError", True),
        ("ChunkedEncodingError", False),
    ]
    target = Target(base_url="http://127.0.0.1:9", api_key="sekrit-key")
    ctx = Context(target, "systemprompt", "schemathesis", Client(target, "systemprompt"), "tag")
    _record(ctx, run)
    outcomes = [o for o in ctx.outcomes.values() if o.check == "not_a_server_error"]
    failures = [f for o in outcomes for f in o.failures]
    observations = [o for each in outcomes for o in each.observations]
    assert [f.evidence.got.split(":")[0] for f in failures] == ["ChunkedEncodingError"]
    # Both unanswered requests fold into one observation, counted twice.
    assert [(o.evidence.got.split(":")[0], o.count) for o in observations] == [("ReadTimeout", 2)]
    assert "no answer within --timeout" in observations[0].what
