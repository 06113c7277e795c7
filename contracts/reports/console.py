"""What a run found, for people: a progress line per family, a summary table per API and
operation, every failure with the rule broken, where the spec says it, what came back and a
curl command to reproduce it (credentials redacted), every observation with its evidence,
and the skipped checks counted by reason.

Whatever reaches a terminal goes through `for_terminal`: every key of the run redacted
(wherever a server put it: an id, a path, a body), then each line made inert
(`specs.text.printable`): no escape sequence, carriage return or bidirectional control
from a server's or a setting's text acts on the terminal."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, TextIO

from specs.redact import Redactor
from specs.text import printable

from ..results import Finding, Outcome, RunResult, Status

ORDER = (Status.PASSED, Status.FAILED, Status.OBSERVED, Status.SKIPPED)
MARK = {Status.PASSED: "✓", Status.FAILED: "✗", Status.OBSERVED: "○", Status.SKIPPED: "–"}


def for_terminal(text: str, redact: Redactor) -> str:
    """`text` as it may be printed: keys redacted, then every line inert; our own line
    breaks are kept, any other control character is shown escaped (`\\x1b`, `\\r`). The
    same rule holds for the text of the JUnit and HTML reports (each escapes it after)."""
    return "\n".join(printable(line) for line in redact(text).split("\n"))


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
        f" · {outcome.family} · {printable(outcome.check)}"
    )


def entry_lines(entry: Finding, indent: str = "    ") -> list[str]:
    """A finding as plain text lines (console, JUnit): what was expected or observed, the
    spec pointer, then each part of its evidence. Each text is one line (a server's line
    break shown as `\\n`, so it cannot forge a line of ours), but a code part's own lines."""
    seen = f"  (seen {entry.count} times)" if entry.count > 1 else ""
    width = 10
    lines = [
        f"{indent}{entry.label + ':':<{width}} {printable(entry.statement)}{seen}",
        f"{indent}{'spec:':<{width}} {printable(entry.spec_pointer)}",
    ]
    for part in entry.evidence.parts():
        first, *rest = [printable(line) for line in (part.text.split("\n") if part.code else [part.text])]
        lines.append(f"{indent}{part.label + ':':<{width}} {first}")
        lines += [f"{indent}{'':<{width}} {line}" for line in rest]
    return lines


def _entries(outcomes: list[Outcome], status: Status) -> str:
    """Each outcome's title, then its findings (failed: the failures; observed: the observations)."""
    lines = []
    for outcome in outcomes:
        lines.append("")
        lines.append(_title(outcome, MARK[status]))
        entries: list[Finding] = [*outcome.failures] if status is Status.FAILED else [*outcome.observations]
        for entry in entries:
            lines += entry_lines(entry)
    return "\n".join(lines)


def failures(result: RunResult, redact: Redactor) -> str:
    return for_terminal(_entries(result.failed, Status.FAILED), redact)


def observations(result: RunResult, redact: Redactor) -> str:
    return for_terminal(_entries(result.observed, Status.OBSERVED), redact)


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


def leftovers(result: RunResult, redact: Redactor) -> str:
    """What the run could not delete, one line each: the ids are the server's (a key echoed
    as an id is redacted like any other)."""
    return for_terminal("\n".join(f"    {printable(redact(item))}" for item in result.leftovers), redact)


def write(result: RunResult, families: list[str], out: TextIO, redact: Redactor) -> None:
    parts = [summary(result, families)]
    if result.failed:
        parts.append("\nFailures" + _entries(result.failed, Status.FAILED))
    if result.observed:
        heading = "Observations (the documentation leaves these open; not violations unless --strict)"
        parts.append(f"\n{heading}" + _entries(result.observed, Status.OBSERVED))
    reasons = skip_reasons(result)
    if reasons:
        parts.append("\nSkipped:\n" + "\n".join(f"    {n} skipped: {printable(why)}" for why, n in reasons))
    if result.leftovers:
        parts.append(
            "\nCould not clean up:\n" + "\n".join(f"    {printable(redact(item))}" for item in result.leftovers)
        )
    parts.append("\n" + final_line(result))
    out.write(for_terminal("\n".join(parts), redact) + "\n")
