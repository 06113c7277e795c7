"""What the HTML report's reader sees first agrees with what it lists (the headline's counts
are the failure cards' counts), and the coverage matrix of a passing run paints no status red
that no run could provoke: those cells are grey and say why, in the cell. Read in Chromium."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.coverage import Coverage, Kind, Scope, compute
from contracts.reports.html_report import render
from contracts.results import Evidence, Failure, Outcome, RunResult
from mockserver import create_app
from specs.redact import Redactor
from tests.browser import FLAGS, require_chromium, require_playwright

from ..sampling import recorded_run

RED = "rgb(255, 235, 233)"  # .cov-no's background


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = require_playwright()
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=require_chromium(), args=list(FLAGS), viewport={"width": 1280, "height": 900}
        )
        try:
            yield context
        finally:
            context.close()


def _open(browser: Any, html: str, directory: Path) -> Any:
    path = directory / "report.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page()
    page.goto(path.as_uri())
    return page


def _failing_result() -> RunResult:
    """Two failed checks, one broken by three examples: 4 failures in 2 checks."""
    outcomes = []
    for check, examples in (("max_length_rejected", 3), ("min_length_rejected", 1)):
        outcome = Outcome("runtype", "createConversation", "POST", "/v1/conversations", "boundaries", check)
        for n in range(examples):
            outcome.add_failure(Failure(f"400 for example {n}", Evidence(f"201 #{n}", "curl -X POST x"), "p#/x"))
        outcomes.append(outcome)
    outcomes.append(Outcome("runtype", "listConversations", "GET", "/v1/conversations", "auth", "credentials"))
    return RunResult(outcomes)


def test_the_headline_counts_equal_the_failures_listed(browser: Any, tmp_path: Path) -> None:
    result = _failing_result()
    scope = Scope(("runtype",), ("boundaries", "auth"))
    html = render(result, compute([], scope), base_url="http://h", families=scope.families, redactor=Redactor([]))
    page = _open(browser, html, tmp_path)
    headline = page.locator("#verdict").inner_text()
    found = re.fullmatch(r"FAILED: (\d+) failure\(s\) in (\d+) check\(s\)", headline)
    assert found, headline
    failures, checks = int(found[1]), int(found[2])
    cards = page.locator(".card[data-status=failed]")
    assert failures == cards.count() == 4
    heading = re.fullmatch(r"Failures \((\d+)\)", page.locator("#failures-heading").inner_text())
    assert heading and int(heading[1]) == failures
    # The failed figure counts checks, as the headline's second number does.
    figure = page.locator(".figure b.s-failed")
    assert int(figure.inner_text()) == checks == len(result.failed) == 2
    assert page.locator("tr.result[data-status=failed]").count() == checks


@pytest.fixture(scope="module")
def passing_coverage() -> tuple[RunResult, Coverage]:
    apis, families = ["runtype"], ["auth", "semantics"]
    keys = {"api_key": "demo-alice", "other_key": "demo-bob", "readonly_key": "demo-readonly"}
    result, target, samples = recorded_run(create_app(), apis, families, **keys)
    assert result.exit_code == 0
    return result, compute(samples, Scope.of(target, apis, families))


def test_a_passing_runs_matrix_shows_unprovokable_statuses_grey_with_the_reason(
    browser: Any, tmp_path: Path, passing_coverage: tuple[RunResult, Coverage]
) -> None:
    result, coverage = passing_coverage
    statuses = [i for i in coverage.items if i.kind is Kind.STATUS]
    unprovokable = [i for i in statuses if not i.provokable]
    # Each operation documents a 500 no run provokes on purpose: there is something to show.
    assert {i.subject for i in unprovokable} >= {"500"}
    assert all(not i.covered and i.reason for i in unprovokable)
    html = render(result, coverage, base_url="http://h", families=coverage.scope.families, redactor=Redactor([]))
    page = _open(browser, html, tmp_path)
    matrix = page.locator("table.status-matrix")
    header = [c.strip() for c in matrix.locator("tr").first.locator("th").all_inner_texts()]
    rows = matrix.locator("tr")
    by_cell: dict[tuple[str, str], Any] = {}
    for r in range(1, rows.count()):
        cells = rows.nth(r).locator("td")
        operation = cells.nth(0).inner_text()
        for c in range(2, cells.count()):
            by_cell[(operation, header[c])] = cells.nth(c)
    operations = {o.operation_id: f"{o.method} {o.path}" for o in coverage.apis[0].operations}
    for item in unprovokable:
        cell = by_cell[(operations[item.operation_id], item.subject)]
        text = cell.inner_text()
        assert text.startswith("not provokable") and (item.reason or "-") in " ".join(text.split()), text
        assert cell.evaluate("el => getComputedStyle(el).backgroundColor") != RED
        assert cell.locator(".why").is_visible()
    # Red is left for what a run could have provoked and did not.
    for (operation, status), cell in by_cell.items():
        if cell.evaluate("el => getComputedStyle(el).backgroundColor") == RED:
            (item,) = [i for i in statuses if i.subject == status and operations[i.operation_id] == operation]
            assert item.provokable and not item.covered
