"""What a run found, for people: a progress line per family, a summary table per API and
operation, and every failure with the rule broken, where the spec says it, what came back
and a curl command to reproduce it (credentials redacted)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TextIO

from .results import Outcome, RunResult, Status

MARK = {Status.PASSED: "✓", Status.FAILED: "✗", Status.SKIPPED: "–"}


class Progress:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()

    def __call__(self, api: str, family: str, done: Any) -> None:
        label = f"{api:<13} {family:<13}"
        if done is None:
            if self.live:
                self.out.write(f"{label} running…")
                self.out.flush()
            return
        outcomes, seconds = done
        counts = {s: sum(1 for o in outcomes if o.status is s) for s in Status}
        passed, failed, skipped = (counts[s] for s in (Status.PASSED, Status.FAILED, Status.SKIPPED))
        line = f"{label} {passed:>3} passed  {failed:>3} failed  {skipped:>3} skipped  ({seconds:.1f}s)"
        self.out.write(("\r\x1b[2K" if self.live else "") + line + "\n")
        self.out.flush()


def summary(result: RunResult, families: list[str]) -> str:
    cells: dict[tuple[str, str, str], list[Outcome]] = defaultdict(list)
    operations: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for outcome in result.outcomes:
        cells[(outcome.api, outcome.operation_id, outcome.family)].append(outcome)
        label = (outcome.operation_id, f"{outcome.method} {outcome.path}")
        if label not in operations[outcome.api]:
            operations[outcome.api].append(label)
    lines = []
    for api, ops in operations.items():
        width = max(len(name) for _, name in ops) + 2
        lines.append("")
        lines.append(f"{api}".ljust(width) + "".join(f.ljust(14) for f in families))
        for operation_id, name in ops:
            row = name.ljust(width)
            for family in families:
                found = cells.get((api, operation_id, family), [])
                failed = sum(o.status is Status.FAILED for o in found)
                passed = sum(o.status is Status.PASSED for o in found)
                cell = (
                    "·"
                    if not found
                    else (f"✗ {failed}/{failed + passed}" if failed else (f"✓ {passed}" if passed else "– skipped"))
                )
                row += cell.ljust(14)
            lines.append(row.rstrip())
    return "\n".join(lines)


def failures(result: RunResult) -> str:
    lines = []
    for outcome in result.failed:
        lines.append("")
        lines.append(
            f"✗ {outcome.api} {outcome.operation_id} ({outcome.method} {outcome.path})"
            f" · {outcome.family} · {outcome.check}"
        )
        for failure in outcome.failures:
            seen = f"  (seen {failure.count} times)" if failure.count > 1 else ""
            lines.append(f"    expected:  {failure.expected}{seen}")
            lines.append(f"    spec:      {failure.spec_pointer}")
            lines.append(f"    got:       {failure.actual}")
            if failure.curl:
                lines.append(f"    reproduce: {failure.curl}")
    return "\n".join(lines)


def final_line(result: RunResult) -> str:
    counts = {s: sum(1 for o in result.outcomes if o.status is s) for s in Status}
    verdict = "conforming" if result.exit_code == 0 else "VIOLATIONS FOUND"
    tail = f", {len(result.leftovers)} not cleaned up" if result.leftovers else ""
    passed, failed, skipped = (counts[s] for s in (Status.PASSED, Status.FAILED, Status.SKIPPED))
    return f"{verdict}: {passed} passed, {failed} failed, {skipped} skipped{tail} in {result.duration:.1f}s"


def write(result: RunResult, families: list[str], out: TextIO) -> None:
    out.write(summary(result, families) + "\n")
    if result.failed:
        out.write("\nFailures" + failures(result) + "\n")
    if result.leftovers:
        out.write("\nCould not clean up:\n" + "\n".join(f"    {item}" for item in result.leftovers) + "\n")
    out.write("\n" + final_line(result) + "\n")
