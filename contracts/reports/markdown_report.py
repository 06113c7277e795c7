"""`--markdown PATH`, and the GitHub job summary (`$GITHUB_STEP_SUMMARY`): a compact verdict,
one table, the top failures with a command to reproduce each, and the coverage figure.

GitHub renders this file as it is, with HTML allowed in a few tags: every value goes through
`_cell` (tables) or `_code` (code spans and blocks) after redaction, so no text from a
server can break the layout or carry a key into the summary.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from specs.redact import Redactor, redact_url

from ..coverage import Coverage
from ..results import Outcome, RunResult
from ..target import Target

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
TOP_FAILURES = 10
NOT_COVERED_SHOWN = 30
_EXCERPT = 300


def render(
    result: RunResult,
    coverage: Coverage,
    *,
    base_url: str,
    families: Sequence[str],
    redactor: Redactor,
) -> str:
    ok = result.exit_code == 0
    failures = [(o, f) for o in result.outcomes for f in o.failures]
    lines = [
        f"## {'✅' if ok else '❌'} convo-contracts: {'conforming' if ok else 'violations found'}",
        "",
        f"{_code(redact_url(base_url))} · {', '.join(coverage.scope.apis)} · families {', '.join(families)}"
        f"{' · read-only' if coverage.scope.read_only else ''} · {result.duration:.1f} s",
        "",
        _table(result.outcomes),
        "",
        f"**Spec coverage: {coverage.percent:.1f}%** ({coverage.covered} of {coverage.documented} documented items)"
        + "".join(f" · {a.api} {a.percent:.1f}%" for a in coverage.apis),
        "",
    ]
    if result.leftovers:
        lines += [f"**Left behind:** {len(result.leftovers)} item(s) the run could not delete.", ""]
    if failures:
        shown = failures[:TOP_FAILURES]
        lines += [f"### Failures ({len(shown)} of {len(failures)})", ""]
        for n, (o, f) in enumerate(shown, 1):
            lines += _failure(n, o, f, redactor)
    undocumented = coverage.undocumented
    if undocumented:
        lines += ["### Statuses the spec does not document", "", "| operation | status | times |", "|---|---:|---:|"]
        lines += [f"| {_cell(u.method + ' ' + u.path)} | {u.status} | {u.count} |" for u in undocumented]
        lines.append("")
    missing = coverage.not_covered
    if missing:
        lines += [f"<details><summary>Not covered ({len(missing)})</summary>", ""]
        lines += [
            f"- {i.api} {_code(i.operation_id)} {i.kind.value} {_code(i.subject)} ({_cell(i.detail)}): "
            f"{_cell(i.reason or '')}"
            for i in missing[:NOT_COVERED_SHOWN]
        ]
        if len(missing) > NOT_COVERED_SHOWN:
            lines.append(f"- … and {len(missing) - NOT_COVERED_SHOWN} more (see the HTML or JSON report)")
        lines += ["", "</details>", ""]
    return redactor("\n".join(lines) + "\n")


def write_markdown(result: RunResult, coverage: Coverage, target: Target, families: Sequence[str], path: Path) -> str:
    """Write the summary for a run against `target`; return it."""
    text = render(result, coverage, base_url=target.base_url, families=families, redactor=target.redactor)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def append_step_summary(text: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """Append to GitHub's job summary when running in a GitHub job; return the file written."""
    target = environ.get(STEP_SUMMARY)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _table(outcomes: list[Outcome]) -> str:
    statuses = sorted({_status(o) for o in outcomes} | {"passed", "failed"}, key=_order)
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for o in outcomes:
        counts = groups.setdefault((o.api, o.family), {})
        counts[_status(o)] = counts.get(_status(o), 0) + 1
    rows = [
        "| API | family | " + " | ".join(statuses) + " |",
        "|---|---|" + "---:|" * len(statuses),
    ]
    for (api, family), counts in sorted(groups.items()):
        rows.append(f"| {_cell(api)} | {_cell(family)} | " + " | ".join(str(counts.get(s, 0)) for s in statuses) + " |")
    return "\n".join(rows)


def _failure(n: int, o: Outcome, failure: Any, redactor: Redactor) -> list[str]:
    got = redactor.excerpt(failure.actual, _EXCERPT)
    times = f" (seen {failure.count} times)" if failure.count > 1 else ""
    lines = [
        f"{n}. **{o.api}** {_code(o.method + ' ' + o.path)} · {o.family} · {_code(o.check)}{times}  ",
        f"   expected: {_cell(redactor(failure.expected))}  ",
        f"   got: {_code(got)}  ",
        f"   spec: {_code(failure.spec_pointer)}",
    ]
    if failure.curl:
        fence = _fence(failure.curl)
        command = "\n   ".join(redactor(failure.curl).splitlines())
        lines += ["", "   <details><summary>reproduce</summary>", "", f"   {fence}sh", f"   {command}", f"   {fence}"]
        lines += ["", "   </details>"]
    lines.append("")
    return lines


def _status(outcome: Outcome) -> str:
    return str(getattr(outcome.status, "value", outcome.status))


def _order(status: str) -> tuple[int, str]:
    return ({"failed": 0, "observed": 1, "passed": 2, "skipped": 3}.get(status, 9), status)


def _cell(text: str) -> str:
    """Plain text safe in a table cell or a list item: no HTML, no pipes, one line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\s*\n\s*", " ", text).replace("|", "\\|")


def _code(text: str) -> str:
    """A code span (outside tables) that no backtick or newline inside can end early."""
    text = re.sub(r"\s*\n\s*", " ", text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


__all__ = ["STEP_SUMMARY", "append_step_summary", "render", "write_markdown"]
