"""The Markdown summary (`--markdown`, GitHub's job summary) of real runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts.coverage import Scope, compute
from contracts.reports.markdown_report import STEP_SUMMARY, append_step_summary, render, write_markdown
from contracts.results import Failure, Outcome, RunResult
from mockserver import create_app
from specs.redact import Redactor

from ..echoing import EchoingUnprocessable
from ..sampling import recorded_run

KEY = "demo-alice"


def _report(app: object, tmp_path: Path, families: list[str]) -> tuple[str, float]:
    result, target, samples = recorded_run(app, ["runtype"], families, api_key=KEY)
    coverage = compute(samples, Scope.of(target, ["runtype"], families))
    text = write_markdown(result, coverage, target, families, tmp_path / "summary.md")
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == text
    return text, coverage.percent


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


def test_server_text_cannot_break_the_layout() -> None:
    outcome = Outcome("runtype", "getConversation", "GET", "/v1/conversations/{id}", "semantics", "round_trip")
    outcome.add_failure(Failure("a | b <b>", "got ``` and | and\nsecret-key", "runtype.yaml#/x", "curl 'a```b'"))
    scope = Scope(apis=("runtype",), families=("semantics",))
    text = render(
        RunResult([outcome]),
        compute([], scope),
        base_url="http://h",
        families=["semantics"],
        redactor=Redactor(["secret-key"]),
    )
    assert "secret-key" not in text
    assert "expected: a \\| b &lt;b&gt;  " in text
    assert "got: ````got ``` and | and [REDACTED]````" in text
    assert "   ````sh\n   curl 'a```b'\n   ````" in text


def test_step_summary_is_appended_when_set(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    assert append_step_summary("## ours\n", {STEP_SUMMARY: str(summary)}) == summary
    assert summary.read_text(encoding="utf-8") == "earlier step\n## ours\n"


def test_step_summary_untouched_when_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert append_step_summary("## ours\n", {}) is None
    assert list(tmp_path.iterdir()) == []
