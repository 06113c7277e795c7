"""Observations and skip reasons reach every report: console, JSON, JUnit (written by the one writer)."""

import json
import xml.etree.ElementTree as ElementTree
from io import StringIO
from pathlib import Path

from contracts.reports import console as report
from contracts.reports.writer import Destinations, write
from contracts.results import Evidence, Observation, Outcome, RunResult, Status
from contracts.settings import RunSettings
from contracts.target import Target
from specs.redact import Redactor

KEY = "sk-test-key-0123456789"


def result(strict: bool = False) -> RunResult:
    observed = Outcome(
        "systemprompt", "listConversations", "GET", "/v1/conversation", "schemathesis", "positive_data_acceptance"
    )
    observed.add_observation(
        Observation(
            "undocumented constraint: `GET /v1/conversation?limit=-5` answered 400",
            Evidence(f"400 {KEY}", "curl x"),
            "p",
        )
    )
    observed.cases = 7
    skipped = [
        Outcome(
            "runtype",
            op,
            "GET",
            "/v1/conversations",
            "auth",
            "tenant_isolation",
            Status.SKIPPED,
            note="needs --other-key",
        )
        for op in ("a", "b", "c")
    ]
    passed = Outcome("runtype", "a", "GET", "/v1/conversations", "boundaries", "query_bounds")
    return RunResult([observed, *skipped, passed], strict=strict)


def test_console_counts_observations_and_skips_by_reason() -> None:
    out = StringIO()
    report.write(result(), ["schemathesis", "auth", "boundaries"], out, Redactor([KEY]))
    text = out.getvalue()
    assert "3 skipped: needs --other-key" in text
    assert "undocumented constraint: `GET /v1/conversation?limit=-5` answered 400" in text
    assert text.rstrip().splitlines()[-1].startswith("conforming: 1 passed, 0 failed, 1 observed, 3 skipped")
    assert report.cases_run(result().outcomes) == 7
    assert KEY not in text and "400 [REDACTED]" in text
    strict = StringIO()
    report.write(result(strict=True), ["schemathesis"], strict, Redactor([KEY]))
    assert strict.getvalue().rstrip().splitlines()[-1].startswith("VIOLATIONS FOUND (--strict")


def _settings(target: Target, strict: bool, tmp_path: Path) -> tuple[RunSettings, Destinations]:
    settings = RunSettings(("runtype", "systemprompt"), ("schemathesis",), {"runtype": target, "systemprompt": target})
    return settings, Destinations(junit_xml=tmp_path / f"junit-{strict}.xml", json=tmp_path / f"r-{strict}.json")


def test_json_and_junit_carry_observations_redacted(tmp_path: Path) -> None:
    target = Target(base_url="http://127.0.0.1:1", api_key=KEY)
    settings, where = _settings(target, False, tmp_path)
    write(result(), settings, where, exit_code=0)
    assert where.json is not None and where.junit_xml is not None
    data = json.loads(where.json.read_text())
    assert data["exitCode"] == 0 and data["summary"]["observed"] == 1 and data["strict"] is False
    assert data["skipReasons"] == [{"reason": "needs --other-key", "count": 3}]
    (observed,) = [r for r in data["results"] if r["observations"]]
    assert observed["status"] == "observed" and observed["cases"] == 7
    assert (
        observed["observations"][0]["evidence"] == "400 [REDACTED]" and observed["observations"][0]["curl"] == "curl x"
    )
    assert "coverage" not in data  # a run without coverage (stopped) writes JUnit and JSON only
    for strict in (False, True):
        settings, where = _settings(target, strict, tmp_path)
        write(result(strict), settings, where, exit_code=0)
        assert where.junit_xml is not None
        text = where.junit_xml.read_text()
        assert KEY not in text
        case = next(
            c for c in ElementTree.fromstring(text).iter("testcase") if "positive_data_acceptance" in c.get("name", "")
        )
        assert "limit=-5" in (case.findtext("system-out") or "")
        assert (case.find("failure") is not None) is strict
        skipped = [s for c in ElementTree.fromstring(text).iter("testcase") if (s := c.find("skipped")) is not None]
        assert len(skipped) == 3 and all(s.get("message") == "needs --other-key" for s in skipped)
