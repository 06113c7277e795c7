"""What a run found, for people: a progress line per family, a summary table per API and
operation, every failure with the rule broken, where the spec says it, what came back and a
curl command to reproduce it (credentials redacted), every observation with its evidence,
and the skipped checks counted by reason."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, TextIO

from ..results import Failure, Observation, Outcome, RunResult, Status

ORDER = (Status.PASSED, Status.FAILED, Status.OBSERVED, Status.SKIPPED)
MARK = {Status.PASSED: "✓", Status.FAILED: "✗", Status.OBSERVED: "○", Status.SKIPPED: "–"}


def counts(outcomes: Iterable[Outcome]) -> str:
    """`3 passed  0 failed  1 observed  2 skipped`, the numbers aligned for progress lines."""
    tally = Counter(o.status for o in outcomes)
    return "  ".join(
        f"{tally[s]:>3} {s.value}" for s in (Status.PASSED, Status.FAILED, Status.OBSERVED, Status.SKIPPED)
    )


def cases_run(outcomes: Iterable[Outcome]) -> int:
    """Generated test cases sent: every check of an operation sees each of its cases, so the
    busiest check of each operation counts them."""
    most: dict[tuple[str, str], int] = {}
    for o in outcomes:
        most[(o.api, o.operation_id)] = max(most.get((o.api, o.operation_id), 0), o.cases)
    return sum(most.values())


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
        cases = cases_run(outcomes)
        ran = f", {cases} cases" if cases else ""
        line = f"{label} {counts(outcomes)}  ({seconds:.1f}s{ran})"
        self.out.write(("\r\x1b[2K" if self.live else "") + line + "\n")
        self.out.flush()


def _cell(found: list[Outcome]) -> str:
    if not found:
        return "·"
    tally = Counter(o.status for o in found)
    failed, passed, observed = tally[Status.FAILED], tally[Status.PASSED], tally[Status.OBSERVED]
    if failed:
        return f"✗ {failed}/{failed + passed + observed}"
    if observed:
        return f"○ {observed}/{passed + observed}"
    return f"✓ {passed}" if passed else "– skipped"


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
                row += _cell(cells.get((api, operation_id, family), [])).ljust(14)
            lines.append(row.rstrip())
    return "\n".join(lines)


def _title(outcome: Outcome, mark: str) -> str:
    return (
        f"{mark} {outcome.api} {outcome.operation_id} ({outcome.method} {outcome.path})"
        f" · {outcome.family} · {outcome.check}"
    )


def _entries(outcomes: list[Outcome], status: Status, label: str) -> str:
    """Each outcome's title, then per entry: what (failed: expected; observed: observed), the
    spec pointer, what came back and how to reproduce it."""
    lines = []
    for outcome in outcomes:
        lines.append("")
        lines.append(_title(outcome, MARK[status]))
        entries: list[Failure | Observation] = (
            [*outcome.failures] if status is Status.FAILED else [*outcome.observations]
        )
        for entry in entries:
            what, got = (entry.expected, entry.actual) if isinstance(entry, Failure) else (entry.what, entry.evidence)
            seen = f"  (seen {entry.count} times)" if entry.count > 1 else ""
            lines.append(f"    {label + ':':<10} {what}{seen}")
            lines.append(f"    spec:      {entry.spec_pointer}")
            lines.append(f"    got:       {got}")
            if entry.curl:
                lines.append(f"    reproduce: {entry.curl}")
    return "\n".join(lines)


def failures(result: RunResult) -> str:
    return _entries(result.failed, Status.FAILED, "expected")


def observations(result: RunResult) -> str:
    return _entries(result.observed, Status.OBSERVED, "observed")


def skip_reasons(result: RunResult) -> list[tuple[str, int]]:
    """Each reason checks were skipped for, with how many, most frequent first."""
    return Counter(o.note or "no reason given" for o in result.skipped).most_common()


def final_line(result: RunResult) -> str:
    tally = Counter(o.status for o in result.outcomes)
    verdict = "conforming" if result.exit_code == 0 else "VIOLATIONS FOUND"
    strict = " (--strict: observations count as failures)" if result.strict and result.observed else ""
    tail = f", {len(result.leftovers)} not cleaned up" if result.leftovers else ""
    passed, failed, observed, skipped = (tally[s] for s in ORDER)
    return (
        f"{verdict}{strict}: {passed} passed, {failed} failed, {observed} observed, {skipped} skipped{tail}"
        f" in {result.duration:.1f}s"
    )


def write(result: RunResult, families: list[str], out: TextIO) -> None:
    out.write(summary(result, families) + "\n")
    if result.failed:
        out.write("\nFailures" + failures(result) + "\n")
    if result.observed:
        heading = "Observations (the documentation leaves these open; not violations unless --strict)"
        out.write(f"\n{heading}" + observations(result) + "\n")
    reasons = skip_reasons(result)
    if reasons:
        out.write("\nSkipped:\n" + "\n".join(f"    {n} skipped: {why}" for why, n in reasons) + "\n")
    if result.leftovers:
        out.write("\nCould not clean up:\n" + "\n".join(f"    {item}" for item in result.leftovers) + "\n")
    out.write("\n" + final_line(result) + "\n")
