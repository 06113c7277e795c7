"""Observations and skip reasons reach every report: console, JSON, JUnit."""

import json
import xml.etree.ElementTree as ElementTree
from io import StringIO
from pathlib import Path

from contracts.reports import console as report
from contracts.reports.json_report import write_json
from contracts.reports.junit import write_junit
from contracts.results import Observation, Outcome, RunResult, Status
from contracts.target import Target

KEY = "sk-test-key-0123456789"


def result(strict: bool = False) -> RunResult:
    observed = Outcome(
        "systemprompt", "listConversations", "GET", "/v1/conversation", "schemathesis", "positive_data_acceptance"
    )
    observed.add_observation(
        Observation(
            "undocumented constraint: `GET /v1/conversation?limit=-5` answered 400", f"400 {KEY}", "p", "curl x"
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
    report.write(result(), ["schemathesis", "auth", "boundaries"], out)
    text = out.getvalue()
    assert "3 skipped: needs --other-key" in text
    assert "undocumented constraint: `GET /v1/conversation?limit=-5` answered 400" in text
    assert text.rstrip().splitlines()[-1].startswith("conforming: 1 passed, 0 failed, 1 observed, 3 skipped")
    assert report.cases_run(result().outcomes) == 7
    strict = StringIO()
    report.write(result(strict=True), ["schemathesis"], strict)
    assert strict.getvalue().rstrip().splitlines()[-1].startswith("VIOLATIONS FOUND (--strict")


def test_json_and_junit_carry_observations_redacted(tmp_path: Path) -> None:
    target = Target(base_url="http://127.0.0.1:1", api_key=KEY)
    write_json(result(), target, ["runtype", "systemprompt"], ["schemathesis"], tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["exitCode"] == 0 and data["summary"]["observed"] == 1 and data["strict"] is False
    assert data["skipReasons"] == [{"reason": "needs --other-key", "count": 3}]
    (observed,) = [r for r in data["results"] if r["observations"]]
    assert observed["status"] == "observed" and observed["cases"] == 7
    for strict in (False, True):
        path = tmp_path / f"junit-{strict}.xml"
        write_junit(result(strict), path, target.redactor)
        text = path.read_text()
        assert KEY not in text
        case = next(
            c for c in ElementTree.fromstring(text).iter("testcase") if "positive_data_acceptance" in c.get("name", "")
        )
        assert "limit=-5" in (case.findtext("system-out") or "")
        assert (case.find("failure") is not None) is strict
        skipped = [s for c in ElementTree.fromstring(text).iter("testcase") if (s := c.find("skipped")) is not None]
        assert len(skipped) == 3 and all(s.get("message") == "needs --other-key" for s in skipped)
