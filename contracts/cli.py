"""`convo-contracts run` / `python -m contracts run`: fuzz a deployment and report what broke;
`convo-contracts replay REPORT.json`: send each recorded failure's requests again (replay.py).

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
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import specs
from specs.cli import CANNOT_RUN, OneLineParser
from specs.redact import Redactor

from .errors import EXIT_CODES, SIGNAL_EXIT, CannotRun, Interrupted
from .reports import console as report
from .reports.coverage_reports import console_block
from .reports.writer import Destinations, ReportNotWritten, finish, write
from .results import RunResult
from .runner import run
from .settings import BY_NAME, SETTINGS, RunSettings, SettingError, from_environment, resolve

PROG = "convo-contracts"
_NO_KEYS = Redactor([])  # before the settings are read, no key is known yet


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description="Conformance suite for the Runtype and systemprompt.io conversation APIs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_settings(
        commands.add_parser(
            "run",
            help="fuzz a deployment and report what broke",
            description=RUN_DESCRIPTION,
            epilog=run_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    replay_parser = commands.add_parser(
        "replay", help="send each failure of a JSON report again: still failing (exit 1) or fixed (exit 0)"
    )
    replay_parser.add_argument("report", metavar="REPORT.json", help="a report of convo-contracts run --json")
    _add_settings(replay_parser)
    return parser


RUN_DESCRIPTION = (
    "Send documented and undocumented requests to a deployment of the Runtype and/or systemprompt.io\n"
    "conversation API; report each documented behaviour it breaks, with the proof and a curl command\n"
    "that reproduces it. Only the URLs given are contacted."
)


def run_epilog() -> str:
    """Which options a run needs, two examples and the exit codes (from `errors.EXIT_CODES`)."""
    url, key = BY_NAME["base_url"], BY_NAME["api_key"]
    other, readonly = BY_NAME["other_key"], BY_NAME["readonly_key"]
    per_api = ", ".join(f"{BY_NAME[f'{api}_url'].option}/{BY_NAME[f'{api}_key'].option}" for api in specs.API_NAMES)
    codes = [
        textwrap.fill(meaning, 96, initial_indent=f"  {code}  ", subsequent_indent="     ", break_on_hyphens=False)
        for code, meaning in sorted(EXIT_CODES.items())
    ]
    return "\n".join(
        [
            "required:",
            f"  {url.option} URL and {key.option} KEY, or the environment variables {url.env} and {key.env},",
            f"  or per API {per_api}.",
            f"  Every other option has a default; {other.option} and {readonly.option} add the",
            "  tenant-isolation and read-only checks (without them those checks are skipped, saying why).",
            "",
            "examples:",
            "  # against the mock (`convo-mock` on its default address, with its demo keys)",
            f"  {PROG} run {url.option} http://127.0.0.1:8000 {key.option} demo-alice \\",
            f"      {other.option} demo-bob {readonly.option} demo-readonly",
            "",
            "  # against staging: keys from the environment (not in shell history or `ps`), with reports",
            f'  export {key.env}="$STAGING_KEY" {other.env}="$STAGING_OTHER_KEY"',
            f"  {PROG} run {url.option} https://staging.example.com {BY_NAME['html'].option} report.html "
            f"{BY_NAME['json'].option} report.json",
            "",
            "exit status:",
            *codes,
            textwrap.fill(SIGNAL_EXIT, 96, initial_indent="  ", subsequent_indent="     ", break_on_hyphens=False),
        ]
    )


def _add_settings(command: argparse.ArgumentParser) -> None:
    for setting in SETTINGS:
        default = "" if setting.default is None or setting.flag else f"; default {_shown(setting.default)}"
        help_text = f"{setting.help} (env {setting.env}{default})"
        if setting.flag:
            command.add_argument(setting.option, dest=setting.name, action="store_const", const=True, help=help_text)
        else:
            command.add_argument(setting.option, dest=setting.name, metavar=setting.metavar, help=help_text)


def _shown(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def parse(argv: Sequence[str] | None = None) -> RunSettings:
    """The run's settings from the command line over the environment; SettingError if bad."""
    return _settings(build_parser().parse_args(argv))


def _settings(args: argparse.Namespace) -> RunSettings:
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
    return f"{PROG}: {where}{' (read-only)' if settings.first.read_only else ''}"


def _say(line: str, redact: Redactor = _NO_KEYS) -> None:
    """One line on stderr, inert: keys redacted, control characters shown escaped."""
    sys.stderr.write(report.for_terminal(f"{PROG}: {line}", redact).replace("\n", " ") + "\n")


def _reports_after_a_stop(settings: RunSettings, result: RunResult, exit_code: int) -> None:
    """The partial reports of a stopped run; one that cannot be written is one more line."""
    try:
        write(result, settings, Destinations.of(settings, os.environ), exit_code)
    except ReportNotWritten as exc:
        _say(str(exc), settings.first.redactor)


def _finish(settings: RunSettings, result: RunResult, out: TextIO) -> int:
    """Console report, then coverage and its gate with every report file; the exit code."""
    redact = settings.first.redactor
    report.write(result, list(settings.families), out, redact)
    finished = finish(result, settings, os.environ)
    out.write("\n" + report.for_terminal(console_block(finished.coverage), redact) + "\n")
    if finished.gate:
        out.write(report.for_terminal(finished.gate, redact) + "\n")
    return finished.exit_code


def _left_behind(result: RunResult) -> str:
    if result.leftovers:
        return f"; {len(result.leftovers)} created conversation(s) could not be deleted"
    return "; what it created was deleted" if result.outcomes else ""


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except SettingError as exc:
        _say(str(exc))
        return CANNOT_RUN
    if args.command == "replay":
        return _replay(Path(args.report), settings, out)
    redact = settings.first.redactor
    out.write(report.for_terminal(_header(settings), redact) + "\n")
    result = RunResult()
    try:
        with _stop_on_signals():
            run(settings.targets, settings.apis, settings.families, progress=report.Progress(out), result=result)
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        _reports_after_a_stop(settings, result, exc.exit_code)
        failed = len(result.failed)
        _say(
            f"stopped by {name} after {result.duration:.1f}s: {len(result.outcomes)} checks done, "
            f"{failed} failed{_left_behind(result)}"
        )
        return exc.exit_code
    except CannotRun as exc:
        if result.outcomes:
            _reports_after_a_stop(settings, result, CANNOT_RUN)
        _say(f"could not run: {exc}{_left_behind(result)}", redact)
        return CANNOT_RUN
    except Exception as exc:  # the suite's own bug: one line, exit 2, never a traceback
        _say(f"could not run (internal error): {type(exc).__name__}: {exc}", redact)
        return CANNOT_RUN
    try:
        return _finish(settings, result, out)
    except ReportNotWritten as exc:
        _say(str(exc), redact)
        return CANNOT_RUN


def _replay(path: Path, settings: RunSettings, out: TextIO) -> int:
    """`replay`: one line per failure, then what could not be cleaned up; the exit code."""
    from . import replay  # the model family (Hypothesis) only when replaying

    redact = settings.first.redactor
    try:
        failures = replay.read_report(path)
    except replay.ReportUnreadable as exc:
        _say(str(exc), redact)
        return CANNOT_RUN
    out.write(report.for_terminal(_header(settings), redact) + "\n")
    try:
        with _stop_on_signals():
            done, leftovers = replay.replay_all(failures, settings)
    except Interrupted as exc:
        _say(f"replay stopped by {signal.Signals(exc.signum).name}")
        return exc.exit_code
    except CannotRun as exc:
        _say(f"could not replay: {exc}", redact)
        return CANNOT_RUN
    except Exception as exc:  # the suite's own bug: one line, exit 2, never a traceback
        _say(f"could not replay (internal error): {type(exc).__name__}: {exc}", redact)
        return CANNOT_RUN
    for one in done:
        line = f"{one.verdict:<14} {one.failure.title}: {one.why}"
        out.write(report.for_terminal(line, redact) + "\n")
    for item in leftovers:
        out.write(report.for_terminal(f"not cleaned up: {item}", redact) + "\n")
    code = replay.exit_code(done, leftovers)
    tally = {v: sum(r.verdict == v for r in done) for v in (replay.STILL_FAILING, replay.FIXED, replay.NOT_REPLAYED)}
    summary = ", ".join(f"{n} {verdict}" for verdict, n in tally.items())
    out.write(f"{summary or 'no failures recorded'}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
