"""The HTML report of a failing run, read as text and opened in real headless Chromium."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contracts.coverage import Coverage, Scope, compute
from contracts.reports.html_report import failure_count, render
from contracts.reports.writer import Destinations, write
from contracts.results import Evidence, Failure, Observation, Outcome, RunResult, Status
from specs.redact import Redactor
from tests.browser import FLAGS, require_chromium, require_playwright

from ..echoing import EchoingUnprocessable
from ..sampling import recorded_run, settings_for

KEY = "demo-alice"
APIS = ["runtype", "systemprompt"]
FAMILIES = ["boundaries", "auth"]


@dataclass
class Report:
    path: Path
    text: str
    result: RunResult
    coverage: Coverage
    samples: list[Any]


@pytest.fixture(scope="module")
def failing_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    result, target, samples = recorded_run(EchoingUnprocessable(), APIS, FAMILIES, api_key=KEY)
    coverage = compute(samples, Scope.of(target, APIS, FAMILIES))
    path = tmp_path_factory.mktemp("html") / "report.html"
    write(result, settings_for(target, APIS, FAMILIES), Destinations(html=path), result.exit_code, coverage)
    return Report(path, path.read_text(encoding="utf-8"), result, coverage, samples)


def test_the_key_the_server_echoed_is_in_no_report(failing_report: Report) -> None:
    # The server did echo it: the report had something to leak.
    assert any(KEY in str(s.response) for s in failing_report.samples)
    assert KEY not in failing_report.text
    assert "[REDACTED]" in failing_report.text


def test_self_contained(failing_report: Report) -> None:
    text = failing_report.text
    assert "<style>" in text and "<script>" in text
    for remote in ("http://cdn", "https://", "<link ", " src="):
        assert remote not in text


def test_everything_is_escaped() -> None:
    outcome = Outcome("runtype", "listConversations", "GET", "/v1/conversations", "boundaries", "<b>check</b>")
    outcome.add_failure(
        Failure("<script>alert(1)</script>", Evidence("got 'x' & \"y\"", "curl '<x>'"), "runtype.yaml#/paths")
    )
    scope = Scope(apis=("runtype",), families=("boundaries",))
    text = render(
        RunResult([outcome]), compute([], scope), base_url="http://h", families=["boundaries"], redactor=Redactor([])
    )
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>check</b>" not in text


@pytest.fixture(scope="module")
def page(failing_report: Report) -> Iterator[Any]:
    sync_api = require_playwright()
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        # Playwright passes its own --headless and takes the profile directory as an argument.
        browser = p.chromium.launch_persistent_context(
            profile,
            executable_path=require_chromium(),
            args=list(FLAGS),
            viewport={"width": 1280, "height": 900},
            java_script_enabled=True,
        )
        try:
            tab = browser.new_page()
            # Offline: every request the page makes is recorded; only the file itself may appear.
            requests: list[str] = []
            tab.on("request", lambda r: requests.append(r.url))
            tab.goto(failing_report.path.as_uri())
            yield tab, requests
        finally:
            browser.close()


def test_browser_shows_the_verdict_a_curl_and_the_coverage(page: Any, failing_report: Report) -> None:
    page, requests = page
    assert requests == [failing_report.path.as_uri()]
    verdict = page.locator("#verdict")
    assert verdict.is_visible()
    failed = failing_report.result.failed
    assert verdict.inner_text().startswith(f"FAILED: {failure_count(failed)} failure(s) in {len(failed)} check(s)")
    curl = page.locator(".card[data-status=failed] pre.curl").first
    assert curl.is_visible()
    text = curl.inner_text()
    assert text.startswith("curl -X ") and "[REDACTED]" in text and KEY not in text
    figure = page.locator("#coverage-figure")
    assert figure.is_visible()
    assert figure.inner_text() == f"{failing_report.coverage.percent:.1f}%"


def test_browser_filters_hide_passed_results_and_other_apis(page: Any) -> None:
    page, _ = page
    passed = page.locator("tr.result[data-status=passed]")
    failed = page.locator("tr.result[data-status=failed]")
    assert passed.count() > 0 and failed.count() > 0
    assert passed.first.is_visible()
    page.locator("input[name=f-status][value=passed]").uncheck()
    assert all(not passed.nth(i).is_visible() for i in range(passed.count()))
    assert failed.first.is_visible()
    page.locator("#f-api").select_option("systemprompt")
    runtype_rows = page.locator("tr.result[data-api=runtype]")
    assert all(not runtype_rows.nth(i).is_visible() for i in range(runtype_rows.count()))
    assert not page.locator("section[data-cov-api=runtype]").is_visible()
    assert page.locator("section[data-cov-api=systemprompt]").is_visible()
    page.locator("#f-api").select_option("")
    page.locator("#f-family").select_option("auth")
    boundaries = page.locator("[data-family=boundaries]")
    assert boundaries.count() > 0 and all(not boundaries.nth(i).is_visible() for i in range(boundaries.count()))
    page.locator("#f-family").select_option("")
    page.locator("input[name=f-status][value=passed]").check()
    assert passed.first.is_visible()


def test_a_passing_status_is_shown_as_passed() -> None:
    outcome = Outcome("runtype", "listConversations", "GET", "/v1/conversations", "auth", "credentials_required")
    assert outcome.status is Status.PASSED
    text = render(
        RunResult([outcome]),
        compute([], Scope(("runtype",), ("auth",))),
        base_url="http://h",
        families=["auth"],
        redactor=Redactor([]),
    )
    assert "id=verdict class='verdict pass'>PASSED" in text


def test_observations_are_shown_apart_from_failures() -> None:
    outcome = Outcome("runtype", "listConversations", "GET", "/v1/conversations", "semantics", "list_order")
    outcome.observations = [
        Observation(
            "undocumented constraint: `limit=-5` answered 400",
            Evidence("400 application/json {}"),
            "runtype.yaml#/paths",
        )
    ]
    text = render(
        RunResult([outcome]),
        compute([], Scope(("runtype",), ("semantics",))),
        base_url="http://h",
        families=["semantics"],
        redactor=Redactor([]),
    )
    assert "<h2>Observations (1)</h2>" in text
    assert "class='card observed' data-api='runtype' data-family='semantics' data-status='observed'" in text
    assert "<h2 id=failures-heading>Failures (0)</h2>" in text and "verdict pass" in text
    # What was observed and what came back are shown, escaped.
    assert "undocumented constraint: `limit=-5` answered 400" in text and "400 application/json {}" in text
