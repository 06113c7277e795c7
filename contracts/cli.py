"""`convo-contracts run` / `python -m contracts run`: fuzz a deployment and report what broke.

Exit status: 0 conforming, 1 documented behaviour broken (or something the run created
could not be deleted), 2 could not run, 130/143 stopped by SIGINT/SIGTERM. Every error is
one line on stderr, never a traceback, never a key.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from specs.cli import OneLineParser

from .coverage import coverage_dict
from .errors import CannotRun, Interrupted
from .reports import console as report
from .reports.coverage_reports import ReportPaths, finish
from .reports.json_report import write_json
from .reports.junit import write_junit
from .results import RunResult
from .runner import run
from .settings import SETTINGS, RunSettings, SettingError, from_environment, resolve

PROG = "convo-contracts"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description="Conformance suite for the Runtype and systemprompt.io conversation APIs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="fuzz a deployment and report what broke")
    for setting in SETTINGS:
        default = "" if setting.default is None or setting.flag else f"; default {_shown(setting.default)}"
        help_text = f"{setting.help} (env {setting.env}{default})"
        if setting.flag:
            run_parser.add_argument(setting.option, dest=setting.name, action="store_const", const=True, help=help_text)
        else:
            run_parser.add_argument(setting.option, dest=setting.name, metavar=setting.name.upper(), help=help_text)
    return parser


def _shown(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def parse(argv: Sequence[str] | None = None) -> RunSettings:
    """The run's settings from the command line over the environment; SettingError if bad."""
    args = build_parser().parse_args(argv)
    given = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name) is not None}
    return resolve({**from_environment(), **given})


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted in the main thread: the run cleans up and reports."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous: dict[int, Any] = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _header(settings: RunSettings) -> str:
    by_url: dict[str, list[str]] = {}
    for api in settings.apis:
        by_url.setdefault(settings.targets[api].display_url, []).append(api)
    where = "; ".join(f"{', '.join(apis)} at {url}" for url, apis in by_url.items())
    return f"{PROG}: {where}{' (read-only)' if settings.first.read_only else ''}\n"


class ReportNotWritten(Exception):
    """A report file could not be written (a bad path, a full disk): exit 2, one line."""


@contextlib.contextmanager
def _writing(report: str, *paths: Path | None) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        # A failed flush (a full disk) names no file: then the report's own path(s).
        named = exc.filename or " or ".join(str(p) for p in paths if p is not None)
        where = f" to {named}" if named else ""
        raise ReportNotWritten(f"could not write the {report} report{where}: {exc.strerror or exc}") from None


def _write_reports(
    settings: RunSettings, result: RunResult, exit_code: int, coverage: dict[str, Any] | None = None
) -> None:
    target = settings.first
    if settings.junit_xml:
        with _writing("JUnit XML", settings.junit_xml):
            write_junit(result, settings.junit_xml, target.redactor)
    if settings.json:
        apis, families = list(settings.apis), list(settings.families)
        with _writing("JSON", settings.json):
            write_json(result, target, apis, families, settings.json, coverage=coverage, exit_code=exit_code)


def _reports_after_a_stop(settings: RunSettings, result: RunResult, exit_code: int) -> None:
    """The partial reports of a stopped run; one that cannot be written is one more line."""
    try:
        _write_reports(settings, result, exit_code)
    except ReportNotWritten as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")


def _finish(settings: RunSettings, result: RunResult, out: TextIO) -> int:
    """Console report, coverage and its gate, the report files; the exit code."""
    report.write(result, list(settings.families), out)
    paths = ReportPaths(settings.html, settings.markdown)
    apis, families = list(settings.apis), list(settings.families)
    with _writing("HTML/Markdown", settings.html, settings.markdown):
        coverage, exit_code = finish(
            result, settings.first, apis, families, paths, settings.fail_under, out, os.environ
        )
    gated = {**coverage_dict(coverage), "failUnder": settings.fail_under}
    _write_reports(settings, result, exit_code, gated)
    return exit_code


def _left_behind(result: RunResult) -> str:
    if result.leftovers:
        return f"; {len(result.leftovers)} created conversation(s) could not be deleted"
    return "; what it created was deleted" if result.outcomes else ""


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        settings = parse(argv)
    except SettingError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 2
    redact = settings.first.redactor
    out.write(_header(settings))
    result = RunResult()
    try:
        with _stop_on_signals():
            run(settings.targets, settings.apis, settings.families, progress=report.Progress(out), result=result)
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        _reports_after_a_stop(settings, result, exc.exit_code)
        failed = len(result.failed)
        sys.stderr.write(
            f"{PROG}: stopped by {name} after {result.duration:.1f}s: {len(result.outcomes)} checks done, "
            f"{failed} failed{_left_behind(result)}\n"
        )
        return exc.exit_code
    except CannotRun as exc:
        if result.outcomes:
            _reports_after_a_stop(settings, result, 2)
        sys.stderr.write(f"{PROG}: could not run: {redact(str(exc))}{_left_behind(result)}\n")
        return 2
    except Exception as exc:  # the suite's own bug: one line, exit 2, never a traceback
        sys.stderr.write(f"{PROG}: could not run (internal error): {redact(f'{type(exc).__name__}: {exc}')}\n")
        return 2
    try:
        return _finish(settings, result, out)
    except ReportNotWritten as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
