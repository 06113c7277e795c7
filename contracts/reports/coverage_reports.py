"""Coverage for people: computed from a finished run, its console block, and the
`--fail-under` gate's message (the files that show it are written by `writer.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from specs.text import printable

from ..coverage import Coverage, Scope, compute
from ..results import RunResult
from ..target import Target

NOT_COVERED_SHOWN = 15


def coverage_of(result: RunResult, target: Target, apis: Sequence[str], families: Sequence[str]) -> Coverage:
    return compute(result.samples, Scope.of(target, apis, families))


def console_block(coverage: Coverage) -> str:
    """The coverage lines of the console summary."""
    per_api = " · ".join(f"{a.api} {a.percent:.1f}% ({a.covered}/{a.documented})" for a in coverage.apis)
    lines = [f"spec coverage: {coverage.percent:.1f}% ({coverage.covered} of {coverage.documented}) · {per_api}"]
    for u in coverage.undocumented:
        shown = f"{u.api} {u.method} {u.path} ({u.count}×): {printable(u.curl or '')}"
        lines.append(f"  undocumented status {u.status} from {shown}")
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


__all__ = ["console_block", "coverage_of", "gate", "not_covered_lines"]
