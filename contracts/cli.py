"""`convo-contracts run` / `python -m contracts run`: fuzz a deployment and report what broke.

Exit status: 0 conforming, 1 violations found, 2 could not run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import specs

from . import report
from .coverage import coverage_dict
from .coverage_reports import ReportPaths, finish
from .json_report import write_json
from .junit import write_junit
from .runner import FAMILIES, CannotRun, run
from .target import Target

ENV = {
    "base_url": "CONVO_BASE_URL",
    "api_key": "CONVO_API_KEY",
    "other_key": "CONVO_OTHER_KEY",
    "readonly_key": "CONVO_READONLY_KEY",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="convo-contracts", description="Conformance suite for the Runtype and systemprompt.io conversation APIs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="fuzz a deployment and report what broke")
    run_parser.add_argument("--api", choices=[*specs.API_NAMES, "all"], default="all")
    run_parser.add_argument(
        "--base-url",
        default=os.environ.get(ENV["base_url"]),
        help=f"e.g. https://api.runtype.com (env {ENV['base_url']})",
    )
    run_parser.add_argument(
        "--api-key", default=os.environ.get(ENV["api_key"]), help=f"the key to test with (env {ENV['api_key']})"
    )
    run_parser.add_argument(
        "--other-key",
        default=os.environ.get(ENV["other_key"]),
        help=f"a key of another tenant, for isolation checks (env {ENV['other_key']})",
    )
    run_parser.add_argument(
        "--readonly-key",
        default=os.environ.get(ENV["readonly_key"]),
        help=f"a read-only key: its writes must be 403 (env {ENV['readonly_key']})",
    )
    run_parser.add_argument(
        "--max-examples", type=int, default=25, help="Schemathesis examples per operation (default 25)"
    )
    run_parser.add_argument(
        "--seed", type=int, default=0, help="Schemathesis seed: the same seed replays the same run (default 0)"
    )
    run_parser.add_argument("--workers", type=int, default=2, help="Schemathesis workers (default 2)")
    run_parser.add_argument(
        "--read-only", action="store_true", help="only what cannot change data: safe against production"
    )
    run_parser.add_argument("--only", help=f"comma-separated families: {','.join(FAMILIES)}")
    run_parser.add_argument(
        "--junit-xml", type=Path, metavar="PATH", help="write JUnit XML: one testcase per operation × check"
    )
    run_parser.add_argument("--json", type=Path, metavar="PATH", help="write the JSON report (schema in README)")
    run_parser.add_argument(
        "--html", type=Path, metavar="PATH", help="write a self-contained HTML report (works offline)"
    )
    run_parser.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set)",
    )
    run_parser.add_argument(
        "--fail-under",
        type=float,
        metavar="PCT",
        help="exit 1 when overall spec coverage is below PCT percent, naming what was not covered",
    )
    run_parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="per-request timeout in seconds (default 10)"
    )
    run_parser.add_argument(
        "--systemprompt-id", help="a systemprompt.io conversation uuid to work on (default: the first listed)"
    )
    return parser


def parse(argv: Sequence[str] | None = None) -> tuple[Target, list[str], list[str], argparse.Namespace]:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.base_url:
        parser.error(f"--base-url is required (or set {ENV['base_url']})")
    if not args.api_key:
        parser.error(f"--api-key is required (or set {ENV['api_key']})")
    parts = urlsplit(args.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        parser.error(f"--base-url must be an http(s) URL, got {args.base_url!r}")
    families = [f.strip() for f in args.only.split(",")] if args.only else list(FAMILIES)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(
            f"unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"choose from {', '.join(FAMILIES)}"
        )
    for name in ("max_examples", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        parser.error(f"--fail-under must be a percentage from 0 to 100, got {args.fail_under:g}")
    target = Target(
        base_url=args.base_url.rstrip("/"),
        api_key=args.api_key,
        other_key=args.other_key,
        readonly_key=args.readonly_key,
        timeout=args.timeout,
        read_only=args.read_only,
        systemprompt_id=args.systemprompt_id,
        max_examples=args.max_examples,
        seed=args.seed,
        workers=args.workers,
    )
    apis = list(specs.API_NAMES) if args.api == "all" else [args.api]
    return target, apis, families, args


def main(argv: Sequence[str] | None = None) -> int:
    target, apis, families, args = parse(argv)
    out = sys.stdout
    out.write(f"convo-contracts: {', '.join(apis)} at {target.base_url}{' (read-only)' if target.read_only else ''}\n")
    try:
        result = run(target, apis, families, progress=report.Progress(out))
    except CannotRun as exc:
        sys.stderr.write(f"convo-contracts: could not run: {target.redactor(str(exc))}\n")
        return 2
    report.write(result, families, out)
    paths = ReportPaths(args.html, args.markdown)
    coverage, exit_code = finish(result, target, apis, families, paths, args.fail_under, out, os.environ)
    if args.junit_xml:
        write_junit(result, args.junit_xml, target.redactor)
    if args.json:
        gated = {**coverage_dict(coverage), "failUnder": args.fail_under}
        write_json(result, target, apis, families, args.json, coverage=gated, exit_code=exit_code)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
