"""The report options of both front ends: `--html`, `--markdown`, `--fail-under`, the
`coverage` key of `--json`, GitHub's job summary; `--contract-html`, `--contract-fail-under`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.cli import main
from mockserver import create_app
from mockserver.background import BackgroundServer

SECRETS = ("demo-alice", "demo-bob", "demo-readonly")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with BackgroundServer(create_app()) as running:
        yield running.base_url


def _main(server: str, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report.json"
    argv = ["run", "--api", "runtype", "--only", "boundaries", "--base-url", server, "--api-key", "demo-alice"]
    code = main([*argv, "--json", str(report), *extra])
    return code, json.loads(report.read_text(encoding="utf-8"))


def test_fail_under_passes_at_the_figure(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = _main(server, tmp_path, "--fail-under", "0")
    percent = data["coverage"]["percent"]
    assert 0 < percent < 100
    code, data = _main(server, tmp_path, "--fail-under", str(percent - 0.01))
    out = capsys.readouterr().out
    assert code == 0 and data["exitCode"] == 0
    assert data["coverage"]["failUnder"] == pytest.approx(percent - 0.01)
    assert f"spec coverage: {percent:.1f}% ({data['coverage']['covered']} of {data['coverage']['documented']})" in out
    assert "is below --fail-under" not in out


def test_fail_under_fails_naming_what_was_not_covered(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _main(server, tmp_path, "--fail-under", "99.5")
    out = capsys.readouterr().out
    assert code == 1 and data["exitCode"] == 1
    assert data["summary"]["failed"] == 0  # nothing failed: the gate alone decided
    assert f"coverage {data['coverage']['percent']:.1f}% is below --fail-under 99.5" in out
    assert "runtype listConversations: status 403 (a 403 response): 403 needs --readonly-key" in out


def test_html_markdown_and_step_summary(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    html, markdown = tmp_path / "out" / "report.html", tmp_path / "out" / "summary.md"
    code, data = _main(server, tmp_path, "--html", str(html), "--markdown", str(markdown))
    assert code == 0
    figure = f"{data['coverage']['percent']:.1f}%"
    assert f"<b id=coverage-figure>{figure}</b>" in html.read_text(encoding="utf-8")
    assert markdown.read_text(encoding="utf-8").startswith("## ✅ convo-contracts: conforming")
    assert summary.read_text(encoding="utf-8") == markdown.read_text(encoding="utf-8")
    written = html.read_text() + markdown.read_text() + (tmp_path / "report.json").read_text() + capsys.readouterr().out
    assert not any(secret in written for secret in SECRETS)


@pytest.mark.parametrize("value", ["101", "-1"])
def test_fail_under_out_of_range_is_one_line_exit_2(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--base-url", "http://127.0.0.1:9", "--api-key", "k", "--fail-under", value])
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("convo-contracts: --fail-under") and f"percentage from 0 to 100, got {value!r}" in line


def _plugin_args(url: str, *extra: str) -> list[str]:
    return ["--contract-url", url, "--contract-api-key", "demo-alice", "--contract-api", "runtype", *extra]


def test_pytest_fail_under_both_ways_with_html(pytester: pytest.Pytester, server: str) -> None:
    passing = pytester.runpytest_subprocess(
        *_plugin_args(server, "-m", "contract_boundaries", "--contract-fail-under", "0", "--contract-html", "r.html")
    )
    assert passing.ret == 0
    passing.stdout.fnmatch_lines(["*convo-contracts coverage*", "spec coverage: *% (* of *)*"])
    assert "id=coverage-figure" in (pytester.path / "r.html").read_text(encoding="utf-8")
    # No run can provoke a documented 500 on purpose: 100% is out of reach, the gate fails.
    failing = pytester.runpytest_subprocess(
        *_plugin_args(server, "-m", "contract_boundaries", "--contract-fail-under", "100")
    )
    outcomes = failing.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes["passed"] > 0
    assert failing.ret == 1
    failing.stdout.fnmatch_lines(["coverage *% is below --fail-under 100: * documented item(s) not covered:"])
    assert not any(s in failing.stdout.str() + passing.stdout.str() for s in SECRETS)


def test_pytest_report_options_refuse_xdist(pytester: pytest.Pytester, server: str) -> None:
    result = pytester.runpytest_subprocess(*_plugin_args(server, "-n", "2", "--contract-fail-under", "50"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--contract-html and --contract-fail-under need a single process: drop -n*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_pytest_writes_the_step_summary_once_when_set(
    pytester: pytest.Pytester, server: str, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest_subprocess(
        *_plugin_args(server, "-m", "contract_boundaries", "--contract-markdown", "r.md", *workers)
    )
    assert result.ret == 0, result.stdout.str()
    written = summary.read_text(encoding="utf-8")
    # The same summary as the Markdown report, appended once (under xdist by the controller alone).
    assert written == (pytester.path / "r.md").read_text(encoding="utf-8")
    assert written.count("convo-contracts: conforming") == 1 and "**Spec coverage:" in written
    assert not any(secret in written for secret in SECRETS)
