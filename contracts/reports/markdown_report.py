"""`--markdown PATH`, and the GitHub job summary (`$GITHUB_STEP_SUMMARY`): a compact verdict,
one table, the top failures with a command to reproduce each, and the coverage figure.

GitHub renders this file as it is, with HTML allowed in a few tags. A server's text is
only ever shown as code: a code span (`_code`) that nothing inside can end (its text made
one printable line, `specs.text.printable`: no `\\r` or `\\n` starts a new block; fenced by
more backticks than it holds), or a fenced block (`_fenced`) whose every line is printable
and indented into its list item. Our own words in table cells go through `_cell`. The whole
text is redacted, so no key reaches the summary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from specs.redact import Redactor, redact_url
from specs.text import printable, shorten

from ..coverage import Coverage
from ..results import Failure, Outcome, RunResult

TOP_FAILURES = 10
NOT_COVERED_SHOWN = 30
_EXCERPT = 300
# The ASCII punctuation Markdown acts on (emphasis, code, links, images, HTML, entities,
# tables, strikethrough, escapes); `.`, `/`, `:` stay readable.
_PUNCTUATION = re.compile(r"[\\`*_{}\[\]<>()#+\-!|&~]")


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
            lines += _failure(n, o, f)
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


def _failure(n: int, o: Outcome, failure: Failure) -> list[str]:
    times = f" (seen {failure.count} times)" if failure.count > 1 else ""
    lines = [
        f"{n}. **{_cell(o.api)}** {_code(o.method + ' ' + o.path)} · {_cell(o.family)} · {_code(o.check)}{times}  ",
        f"   {failure.label}: {_code(failure.statement)}  ",
    ]
    code = [part for part in failure.evidence.parts() if part.code]
    lines += [
        f"   {part.label}: {_code(shorten(part.text, _EXCERPT))}  "
        for part in failure.evidence.parts()
        if not part.code
    ]
    lines.append(f"   spec: {_code(failure.spec_pointer)}")
    for part in code:
        lines += [
            "",
            f"   <details><summary>{_cell(part.label)}</summary>",
            "",
            *_fenced(part.text),
            "",
            "   </details>",
        ]
    lines.append("")
    return lines


def _status(outcome: Outcome) -> str:
    return outcome.status.value


def _order(status: str) -> tuple[int, str]:
    return ({"failed": 0, "observed": 1, "passed": 2, "skipped": 3}.get(status, 9), status)


def _cell(text: str) -> str:
    """Plain text safe in a table cell or a list item: one printable line, the punctuation
    Markdown acts on backslash-escaped (CommonMark shows it as itself), so no pipe, `<`,
    `[`, `!`, `*` or `&` can make a cell, a tag, a link, an image or an entity."""
    return _PUNCTUATION.sub(r"\\\g<0>", printable(text))


def _code(text: str) -> str:
    """A code span no text inside can end: one printable line (a bare `\\r` would end the
    line, and the span with it), fenced by one backtick more than its longest run, padded
    where it starts or ends with a backtick or a space (CommonMark strips one of each)."""
    text = printable(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if not text or text[0] in "` " or text[-1] in "` " else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fenced(text: str, indent: str = "   ") -> list[str]:
    """A fenced code block inside a list item: each line printable (no bare `\\r` ends the
    item early) and indented; the fence longer than any backtick run inside."""
    lines = [printable(line) for line in text.split("\n")]
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}sh", *(f"{indent}{line}" for line in lines), f"{indent}{fence}"]


__all__ = ["render"]
