"""The Markdown summary (`--markdown`, GitHub's job summary) of real runs, read back by a
CommonMark renderer."""

from __future__ import annotations

import re
from pathlib import Path

from contracts.coverage import Scope, compute
from contracts.reports.markdown_report import render
from contracts.reports.writer import STEP_SUMMARY, Destinations, finish, write
from contracts.results import Evidence, Failure, Outcome, RunResult
from mockserver import create_app
from specs.redact import Redactor

from ..echoing import EchoingUnprocessable
from ..sampling import recorded_run, settings_for
from .commonmark import headings, stranger_elements

KEY = "demo-alice"


def _report(app: object, tmp_path: Path, families: list[str]) -> tuple[str, float]:
    result, target, samples = recorded_run(app, ["runtype"], families, api_key=KEY)
    coverage = compute(samples, Scope.of(target, ["runtype"], families))
    path = tmp_path / "summary.md"
    write(result, settings_for(target, ["runtype"], families), Destinations(markdown=path), result.exit_code, coverage)
    return path.read_text(encoding="utf-8"), coverage.percent


def _table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [re.split(r"(?<!\\)\|", row)[1:-1] for row in rows]


def test_failing_run(tmp_path: Path) -> None:
    text, percent = _report(EchoingUnprocessable(), tmp_path, ["boundaries"])
    assert text.startswith("## ❌ convo-contracts: violations found\n")
    assert KEY not in text and "[REDACTED]" in text
    assert f"**Spec coverage: {percent:.1f}%**" in text
    assert re.search(r"^### Failures \(10 of \d+\)$", text, re.MULTILINE)
    assert "   <details><summary>reproduce</summary>\n\n   ```sh\n   curl -X POST http://127.0.0.1:" in text
    assert "| GET /v1/conversations | 422 | 3 |" in text
    # Each table keeps its column count on every row: GitHub renders it as a table.
    rows = _table_rows(text)
    assert rows[0][:2] == [" API ", " family "]
    summary_width = len(rows[0])
    assert all(len(r) == summary_width for r in rows[: 2 + 1])


def test_passing_run(tmp_path: Path) -> None:
    text, _ = _report(create_app(), tmp_path, ["boundaries"])
    assert text.startswith("## ✅ convo-contracts: conforming\n")
    assert "### Failures" not in text
    (header, _, row) = _table_rows(text)[:3]
    assert [c.strip() for c in header] == ["API", "family", "failed", "passed"]
    assert [c.strip() for c in row][:3] == ["runtype", "boundaries", "0"]


HOSTILE = (
    "EVIL\r# EVIL heading\r\n## EVIL two\n![EVIL](http://evil.example/x.png) [EVIL](http://evil.example)"
    " <img src=x onerror=EVIL> | EVIL | ``` EVIL ` \x1b]0;EVIL\x07 \u202eEVIL &amp;EVIL"
)


def test_server_text_cannot_make_an_element() -> None:
    outcome = Outcome("runtype", "getConversation", "GET", "/v1/conversations/{id}", "semantics", "round_trip")
    curl = f"curl 'a```b' --data-binary '{HOSTILE}\nsecret-key'"
    outcome.add_failure(Failure(f"EVIL {HOSTILE}", Evidence(f"got {HOSTILE}\nsecret-key", curl), "runtype.yaml#/x"))
    scope = Scope(apis=("runtype",), families=("semantics",))
    text = render(
        RunResult([outcome]),
        compute([], scope),
        base_url="http://h",
        families=["semantics"],
        redactor=Redactor(["secret-key"]),
    )
    assert "secret-key" not in text and "[REDACTED]" in text
    assert stranger_elements(text, "EVIL") == []
    assert all(h.startswith(("❌ convo-contracts", "Failures")) for h in headings(text)), headings(text)
    assert "\r" not in text and "\x1b" not in text and "\x07" not in text


def test_the_step_summary_gets_what_the_markdown_report_gets(tmp_path: Path) -> None:
    result, target, _ = recorded_run(create_app(), ["runtype"], ["boundaries"], api_key=KEY)
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    settings = settings_for(target, ["runtype"], ["boundaries"])
    finished = finish(result, settings, {STEP_SUMMARY: str(summary)})
    written = summary.read_text(encoding="utf-8")
    assert finished.exit_code == 0
    assert written.startswith("earlier step\n## ✅ convo-contracts: conforming\n")
    assert f"**Spec coverage: {finished.coverage.percent:.1f}%**" in written


def test_no_step_summary_when_unset(tmp_path: Path) -> None:
    result, target, _ = recorded_run(create_app(), ["runtype"], ["boundaries"], api_key=KEY)
    markdown = tmp_path / "summary.md"
    settings = settings_for(target, ["runtype"], ["boundaries"])
    write(result, settings, Destinations(markdown=markdown), 0, finish(result, settings, {}).coverage)
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]
