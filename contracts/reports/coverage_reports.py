"""What both front ends (CLI, pytest plugin) do with a finished run beyond the console
report: compute the coverage, print its block, write the HTML and Markdown reports, append
to GitHub's job summary, and apply the `--fail-under` gate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..coverage import Coverage, Scope, compute, samples_of
from ..results import RunResult
from ..target import Target
from .html_report import write_html
from .markdown_report import append_step_summary, render, write_markdown

NOT_COVERED_SHOWN = 15


@dataclass(frozen=True)
class ReportPaths:
    html: Path | None = None
    markdown: Path | None = None


def coverage_of(result: RunResult, target: Target, apis: Sequence[str], families: Sequence[str]) -> Coverage:
    return compute(samples_of(result), Scope.of(target, apis, families))


def console_block(coverage: Coverage) -> str:
    """The coverage lines of the console summary."""
    per_api = " · ".join(f"{a.api} {a.percent:.1f}% ({a.covered}/{a.documented})" for a in coverage.apis)
    lines = [f"spec coverage: {coverage.percent:.1f}% ({coverage.covered} of {coverage.documented}) · {per_api}"]
    for u in coverage.undocumented:
        lines.append(f"  undocumented status {u.status} from {u.api} {u.method} {u.path} ({u.count}×): {u.curl or ''}")
    return "\n".join(lines)


def not_covered_lines(coverage: Coverage, limit: int = NOT_COVERED_SHOWN) -> list[str]:
    missing = coverage.not_covered
    lines = [
        f"  {i.api} {i.operation_id}: {i.kind.value} {i.subject} ({i.detail}): {i.reason}" for i in missing[:limit]
    ]
    if len(missing) > limit:
        lines.append(f"  … and {len(missing) - limit} more (the HTML and JSON reports list them all)")
    return lines


def gate(coverage: Coverage, fail_under: float | None) -> str | None:
    """The gate's message when coverage is below `fail_under` percent, else None."""
    if fail_under is None or not coverage.below(fail_under):
        return None
    head = (
        f"coverage {coverage.percent:.1f}% is below --fail-under {fail_under:g}: "
        f"{coverage.documented - coverage.covered} documented item(s) not covered:"
    )
    return "\n".join([head, *not_covered_lines(coverage)])


def write_reports(
    result: RunResult,
    coverage: Coverage,
    target: Target,
    families: Sequence[str],
    paths: ReportPaths,
    environ: Mapping[str, str],
) -> None:
    if paths.html:
        write_html(result, coverage, target, families, paths.html)
    text = None
    if paths.markdown:
        text = write_markdown(result, coverage, target, families, paths.markdown)
    if environ.get("GITHUB_STEP_SUMMARY"):
        text = text or render(result, coverage, base_url=target.base_url, families=families, redactor=target.redactor)
        append_step_summary(text, environ)


def finish(
    result: RunResult,
    target: Target,
    apis: Sequence[str],
    families: Sequence[str],
    paths: ReportPaths,
    fail_under: float | None,
    out: TextIO,
    environ: Mapping[str, str],
) -> tuple[Coverage, int]:
    """Print the coverage block, write the reports; return the coverage and the exit code."""
    coverage = coverage_of(result, target, apis, families)
    out.write("\n" + target.redactor(console_block(coverage)) + "\n")
    write_reports(result, coverage, target, families, paths, environ)
    message = gate(coverage, fail_under)
    if message:
        out.write(target.redactor(message) + "\n")
    # The gate only adds a reason to fail: a failing run stays failing whatever the coverage.
    return coverage, max(result.exit_code, 1 if message else 0)


__all__ = ["ReportPaths", "console_block", "coverage_of", "finish", "gate", "not_covered_lines", "write_reports"]
