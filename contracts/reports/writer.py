"""Every report file of a run, written here and nowhere else, for both front ends (the CLI
and the pytest plugin): JUnit XML, JSON, HTML, Markdown, GitHub's job summary
(`$GITHUB_STEP_SUMMARY`, appended to), and the `--fail-under` gate that may turn the exit
code to 1. The format modules only render text; this module writes it.

A file that cannot be written (a full disk, a path that became a folder) is one
`ReportNotWritten` naming it: exit 2, one line. A character UTF-8 cannot carry (a lone
surrogate from a server's JSON) is written escaped (`\\ud800`), never a crash."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..coverage import Coverage, coverage_dict
from ..errors import BROKEN, CONFORMS
from ..results import RunResult
from ..settings import RunSettings
from . import html_report, json_report, junit, markdown_report
from .coverage_reports import coverage_of, gate

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


class ReportNotWritten(Exception):
    """A report file could not be written (a bad path, a full disk): exit 2, one line."""


@dataclass(frozen=True)
class Destinations:
    """Where this run's reports go; None: not asked for."""

    junit_xml: Path | None = None
    json: Path | None = None
    html: Path | None = None
    markdown: Path | None = None
    step_summary: Path | None = None  # GitHub's job summary, appended to

    @classmethod
    def of(cls, settings: RunSettings, environ: Mapping[str, str]) -> Destinations:
        summary = environ.get(STEP_SUMMARY)
        return cls(
            settings.junit_xml, settings.json, settings.html, settings.markdown, Path(summary) if summary else None
        )


@dataclass(frozen=True)
class Finished:
    """A completed run as both front ends report it."""

    coverage: Coverage
    gate: str | None  # why --fail-under fails the run; None when it passes or is not set
    exit_code: int


def finish(result: RunResult, settings: RunSettings, environ: Mapping[str, str]) -> Finished:
    """A completed run: its coverage, the gate, and every report file asked for."""
    apis, families = list(settings.apis), list(settings.families)
    coverage = coverage_of(result, settings.first, apis, families)
    message = gate(coverage, settings.fail_under)
    # The gate only adds a reason to fail: a failing run stays failing whatever the coverage.
    exit_code = max(result.exit_code, BROKEN if message else CONFORMS)
    write(result, settings, Destinations.of(settings, environ), exit_code, coverage)
    return Finished(coverage, message, exit_code)


def write(
    result: RunResult,
    settings: RunSettings,
    destinations: Destinations,
    exit_code: int,
    coverage: Coverage | None = None,
) -> None:
    """Every report file in `destinations`. Without `coverage` (a run stopped before its
    end) only JUnit and JSON are written: the others show coverage."""
    target = settings.first
    apis, families = list(settings.apis), list(settings.families)
    if destinations.junit_xml:
        _save(destinations.junit_xml, junit.render(result, target.redactor), "JUnit XML")
    if destinations.json:
        gated = None if coverage is None else {**coverage_dict(coverage), "failUnder": settings.fail_under}
        _save(destinations.json, json_report.render(result, target, apis, families, gated, exit_code), "JSON")
    if coverage is None:
        return
    base_url, redactor = target.base_url, target.redactor
    if destinations.html:
        page = html_report.render(result, coverage, base_url=base_url, families=families, redactor=redactor)
        _save(destinations.html, page, "HTML")
    if destinations.markdown or destinations.step_summary:
        text = markdown_report.render(result, coverage, base_url=base_url, families=families, redactor=redactor)
        if destinations.markdown:
            _save(destinations.markdown, text, "Markdown")
        if destinations.step_summary:
            _save(destinations.step_summary, text, "GitHub step summary", append=True)


def _save(path: Path, text: str | bytes, report: str, *, append: bool = False) -> None:
    """`text` into `path`: a str as UTF-8, bytes (a format that encodes itself: JSON) as they are."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "backslashreplace")
    with _writing(report, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab" if append else "wb") as handle:
            handle.write(data)


@contextlib.contextmanager
def _writing(report: str, path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        # A failed flush (a full disk) names no file: then the report's own path.
        raise ReportNotWritten(
            f"could not write the {report} report to {exc.filename or path}: {exc.strerror or exc}"
        ) from None


__all__ = ["STEP_SUMMARY", "Destinations", "Finished", "ReportNotWritten", "finish", "write"]
