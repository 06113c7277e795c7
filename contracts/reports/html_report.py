"""`--html PATH`: the whole run as one self-contained page (inline CSS and a little JS, no
network), for people who never saw the tool: the verdict, what broke and how to reproduce
it, every result, and the spec coverage matrix, with filters.

Every piece of text goes through one rule (`e`): redacted with the run's `Redactor`, each
line made printable (`console.for_terminal`: HTML escaping leaves control characters as
they are, and a browser, a viewer or `cat` would show or act on them), then escaped; the
finished page is redacted once more, so a key the server echoed back cannot reach the file.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from specs.redact import Redactor, redact_url

from ..coverage import Coverage, Item, Kind, OperationCoverage
from ..results import Finding, Outcome, RunResult
from .console import for_terminal

_CSS = """
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--mute:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328}
header{padding:16px 24px;border-bottom:1px solid var(--line);background:var(--bg)}
main{padding:0 24px 48px;max-width:1280px}h1{font-size:20px;margin:0 0 4px}h2{margin-top:32px;font-size:17px}
h3{font-size:15px;margin:20px 0 6px}.mute{color:var(--mute)}
.verdict{display:inline-block;font-weight:700;font-size:18px;padding:6px 14px;border-radius:6px;color:#fff}
.verdict.pass{background:var(--ok)}.verdict.fail{background:var(--bad)}
.figures{display:flex;gap:24px;flex-wrap:wrap;margin:12px 0}.figure b{font-size:20px;display:block}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}th,td{border:1px solid var(--line);padding:4px 8px;
text-align:left;vertical-align:top}th{background:var(--bg)}td.num{text-align:right}
.s-passed{color:var(--ok)}.s-failed{color:var(--bad);font-weight:600}.s-skipped{color:var(--mute)}
.s-observed{color:var(--warn)}
.card{border:1px solid var(--line);border-left:4px solid var(--bad);border-radius:6px;padding:8px 12px;margin:10px 0}
.card.observed{border-left-color:var(--warn)}
.card dl{display:grid;grid-template-columns:9em 1fr;gap:2px 12px;margin:6px 0}
.card dt{color:var(--mute)}.card dd{margin:0;overflow-wrap:anywhere}
pre{background:var(--bg);padding:6px 8px;border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
.filters{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:8px 0;z-index:1;
display:flex;gap:18px;flex-wrap:wrap;align-items:center}
.cov-yes{background:#dafbe1}.cov-no{background:#ffebe9}.cov-na{color:var(--mute);background:#fff}
.cov-np{color:var(--mute);background:#f6f8fa;font-size:12px;max-width:16em}.cov-np .why{display:block}
.chip{display:inline-block;border-radius:10px;padding:0 8px;margin:1px 2px;font-size:12px}
#summary{width:auto}#summary td,#summary th{min-width:6em}
.hidden{display:none!important}details summary{cursor:pointer}
"""

_JS = """
(function(){
  function apply(){
    var api=document.getElementById('f-api').value, fam=document.getElementById('f-family').value;
    var shown={};document.querySelectorAll('input[name=f-status]').forEach(function(b){shown[b.value]=b.checked;});
    document.querySelectorAll('[data-status]').forEach(function(el){
      var ok=(api===''||el.dataset.api===api)&&(fam===''||el.dataset.family===fam)&&shown[el.dataset.status]!==false;
      el.classList.toggle('hidden',!ok);
    });
    document.querySelectorAll('[data-cov-api]').forEach(function(el){
      el.classList.toggle('hidden',api!==''&&el.dataset.covApi!==api);
    });
  }
  document.querySelectorAll('.filters select,.filters input').forEach(function(el){
    el.addEventListener('change',apply);
  });
  apply();
})();
"""

Escape = Callable[[Any], str]


def render(
    result: RunResult,
    coverage: Coverage,
    *,
    base_url: str,
    families: Sequence[str],
    redactor: Redactor,
) -> str:
    def e(value: Any) -> str:
        return html.escape(for_terminal(str(value), redactor))

    outcomes = sorted(result.outcomes, key=lambda o: (o.api, o.path, o.method, o.family, o.check))
    failed = [o for o in outcomes if o.failures]
    observed = [o for o in outcomes if o.observations]
    statuses = sorted({_status(o) for o in outcomes} | {"passed", "failed"}, key=_status_order)
    verdict_ok = result.exit_code == 0
    counts = {s: sum(_status(o) == s for o in outcomes) for s in statuses}
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<title>convo-contracts: {'conforming' if verdict_ok else 'violations found'}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header><h1>Conformance report: convo-contracts</h1>",
        f"<div class=mute>Target <code>{e(redact_url(base_url))}</code> · APIs {e(', '.join(coverage.scope.apis))}"
        f" · families {e(', '.join(families))}{' · read-only' if coverage.scope.read_only else ''}"
        f" · {e(time.strftime('%Y-%m-%d %H:%M:%S %Z'))} · {result.duration:.1f} s</div>",
        "</header><main>",
        _verdict(result, verdict_ok, counts, coverage, e),
        _summary(outcomes, statuses, e),
        _filters(outcomes, statuses, e),
        _failures(failed, observed, e),
        _results(outcomes, e),
        _coverage(coverage, e),
        _leftovers(result.leftovers, e),
        "<h2>How to read this report</h2><p>Each <em>check</em> sends requests to one operation of the API"
        " specification and compares the answers with what the documentation states. A <em>failure</em> is a"
        " documented behaviour the server broke: it shows what was expected, where the specification says so"
        " (a JSON pointer into the spec file), what the server answered, and a curl command that reproduces"
        " the request (credentials replaced by [REDACTED]). <em>Coverage</em> counts the documented facts the"
        " run exercised: response statuses seen, request constraints sent, response fields received.</p>",
        f"</main><script>{_JS}</script></body></html>",
    ]
    return redactor("".join(parts))


def _status(outcome: Outcome) -> str:
    return outcome.status.value


def _status_order(status: str) -> tuple[int, str]:
    order = {"failed": 0, "observed": 1, "passed": 2, "skipped": 3}
    return (order.get(status, 9), status)


def _verdict(result: RunResult, ok: bool, counts: dict[str, int], coverage: Coverage, e: Escape) -> str:
    if ok:
        text = "PASSED: the server conforms to the documented behaviour checked"
    else:
        reasons = []
        if result.failed:
            # The same two numbers as the Failures heading and the failed figure below.
            reasons.append(f"{failure_count(result.failed)} failure(s) in {len(result.failed)} check(s)")
        if result.leftovers:
            reasons.append(f"{len(result.leftovers)} item(s) could not be deleted")
        text = "FAILED: " + ", ".join(reasons or ["see below"])
    figures = "".join(
        f"<div class=figure><b class=s-{e(s)}>{n}</b>{e(s)} check{'' if n == 1 else 's'}</div>"
        for s, n in counts.items()
    )
    cov = (
        f"<div class=figure><b id=coverage-figure>{coverage.percent:.1f}%</b>spec coverage"
        f" ({coverage.covered} of {coverage.documented} documented items)</div>"
    )
    return (
        f"<p><span id=verdict class='verdict {'pass' if ok else 'fail'}'>{e(text)}</span></p>"
        f"<div class=figures>{figures}{cov}</div>"
    )


def _summary(outcomes: list[Outcome], statuses: list[str], e: Escape) -> str:
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for o in outcomes:
        counts = groups.setdefault((o.api, o.family), dict.fromkeys(statuses, 0))
        counts[_status(o)] = counts.get(_status(o), 0) + 1
    head = "".join(f"<th>{e(s)}</th>" for s in statuses)
    rows = "".join(
        f"<tr><td>{e(api)}</td><td>{e(family)}</td>"
        + "".join(f"<td class='num s-{e(s)}'>{counts.get(s, 0) or ''}</td>" for s in statuses)
        + "</tr>"
        for (api, family), counts in sorted(groups.items())
    )
    return f"<table id=summary><tr><th>API</th><th>family</th>{head}</tr>{rows}</table>"


def _options(values: Iterable[str], e: Escape) -> str:
    return "".join(f"<option value='{e(v)}'>{e(v)}</option>" for v in values)


def _filters(outcomes: list[Outcome], statuses: list[str], e: Escape) -> str:
    apis = sorted({o.api for o in outcomes})
    families = sorted({o.family for o in outcomes})
    boxes = "".join(
        f"<label><input type=checkbox name=f-status value='{e(s)}' checked> {e(s)}</label> " for s in statuses
    )
    return (
        "<div class=filters><strong>Show</strong>"
        f"<label>API <select id=f-api><option value=''>all</option>{_options(apis, e)}</select></label>"
        f"<label>family <select id=f-family><option value=''>all</option>{_options(families, e)}</select></label>"
        f"<span>status {boxes}</span></div>"
    )


def _attrs(outcome: Outcome, status: str, e: Escape) -> str:
    return f"data-api='{e(outcome.api)}' data-family='{e(outcome.family)}' data-status='{e(status)}'"


def _evidence(item: Finding, e: Escape) -> str:
    """A finding and its evidence: every part of it, code parts as preformatted text."""
    dl = f"<dt>{e(item.label)}</dt><dd>{e(item.statement)}</dd><dt>spec pointer</dt><dd>{e(item.spec_pointer)}</dd>"
    for part in item.evidence.parts():
        shown = f"<pre class={e(part.name)}>{e(part.text)}</pre>" if part.code else e(part.text)
        dl += f"<dt>{e(part.label)}</dt><dd>{shown}</dd>"
    if item.count > 1:
        dl += f"<dt>seen</dt><dd>{item.count} times</dd>"
    return f"<dl>{dl}</dl>"


def _title(o: Outcome, e: Escape) -> str:
    return (
        f"<strong>{e(o.api)}</strong> <code>{e(o.method)} {e(o.path)}</code> ({e(o.operation_id)})"
        f" · family {e(o.family)} · check <code>{e(o.check)}</code>"
    )


def failure_count(failed: Sequence[Outcome]) -> int:
    """Failures listed: one check (an outcome) may hold several (one per example that broke it)."""
    return sum(len(o.failures) for o in failed)


def _failures(failed: list[Outcome], observed: list[Outcome], e: Escape) -> str:
    checks = len(failed)
    out = [
        f"<h2 id=failures-heading>Failures ({failure_count(failed)})</h2>"
        + (f"<p class=mute>in {checks} check{'' if checks == 1 else 's'}</p>" if failed else "")
    ]
    if not failed:
        out.append("<p>None: no documented behaviour was seen broken.</p>")
    for o in failed:
        for failure in o.failures:
            out.append(f"<div class=card {_attrs(o, 'failed', e)}>{_title(o, e)}{_evidence(failure, e)}</div>")
    if observed:
        out.append(
            f"<h2>Observations ({sum(len(o.observations) for o in observed)})</h2>"
            "<p class=mute>Where the documentation is silent: worth knowing, not a violation.</p>"
        )
        for o in observed:
            for item in o.observations:
                out.append(
                    f"<div class='card observed' {_attrs(o, 'observed', e)}>{_title(o, e)}{_evidence(item, e)}</div>"
                )
    return "".join(out)


def _results(outcomes: list[Outcome], e: Escape) -> str:
    rows = []
    for o in outcomes:
        status = _status(o)
        note = o.note or ("; ".join(f.expected for f in o.failures[:2]) if o.failures else "")
        rows.append(
            f"<tr class=result {_attrs(o, status, e)}><td>{e(o.api)}</td>"
            f"<td><code>{e(o.method)} {e(o.path)}</code><br><span class=mute>{e(o.operation_id)}</span></td>"
            f"<td>{e(o.family)}</td><td><code>{e(o.check)}</code></td>"
            f"<td class=s-{e(status)}>{e(status)}</td><td>{e(note)}</td></tr>"
        )
    return (
        f"<h2>Results ({len(outcomes)} operation × check)</h2><table id=results><thead><tr><th>API</th>"
        "<th>operation</th><th>family</th><th>check</th><th>result</th><th>note</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _coverage(coverage: Coverage, e: Escape) -> str:
    out = [
        f"<h2>Spec coverage: {coverage.percent:.1f}% ({coverage.covered} of {coverage.documented})</h2>",
        "<p class=mute>A status is covered when a response carried it; a constraint when a request sent a value"
        " that hits it and got an answer; a response field when a response of a documented status contained"
        " it. Hover a red cell for the reason. A grey cell is a status no run of this suite can provoke"
        " (a documented 500, a sibling 2xx the server chose): not a gap in this run, the reason is in the cell.</p>",
    ]
    for api in coverage.apis:
        out.append(
            f"<section data-cov-api='{e(api.api)}'><h3>{e(api.api)}: {api.percent:.1f}%"
            f" ({api.covered} of {api.documented})</h3>"
        )
        out.append(_status_matrix(api.operations, e))
        for op in api.operations:
            out.append(_operation_detail(op, e))
        if api.undocumented:
            out.append(
                "<h3>Statuses the spec does not document</h3><table class=undocumented><tr><th>operation</th>"
                "<th>status</th><th>times</th><th>reproduce</th></tr>"
            )
            for u in api.undocumented:
                out.append(
                    f"<tr><td><code>{e(u.method)} {e(u.path)}</code></td><td class=s-failed>{u.status}</td>"
                    f"<td class=num>{u.count}</td><td><pre class=curl>{e(u.curl or '')}</pre></td></tr>"
                )
            out.append("</table>")
        out.append("</section>")
    missing = coverage.not_covered
    if missing:
        out.append(f"<details><summary>Not covered ({len(missing)}), with the reason</summary><ul>")
        for item in missing:
            out.append(
                f"<li>{e(item.api)} {e(item.operation_id)}: {e(item.kind.value)} <code>{e(item.subject)}</code>"
                f" ({e(item.detail)}): {'' if item.provokable else 'not provokable: '}{e(item.reason or '')}</li>"
            )
        out.append("</ul></details>")
    return "".join(out)


def _leftovers(leftovers: list[str], e: Escape) -> str:
    if not leftovers:
        return ""
    items = "".join(f"<li>{e(item)}</li>" for item in leftovers)
    intro = "<p>The run created these and could not delete them:</p>"
    return f"<h2>Left behind ({len(leftovers)})</h2>{intro}<ul>{items}</ul>"


def _cell(item: Item | None, e: Escape) -> str:
    if item is None:
        return "<td class=cov-na>·</td>"
    if item.covered:
        return f"<td class=cov-yes>✓ {item.count}</td>"
    if not item.provokable:
        # Not a gap of this run: grey, and the reason in the cell (a hover is easy to miss).
        return f"<td class=cov-np>not provokable<span class=why>{e(item.reason or '')}</span></td>"
    title = f" title='{e(item.reason)}'" if item.reason else ""
    return f"<td class=cov-no{title}>✗</td>"


def _status_matrix(operations: list[OperationCoverage], e: Escape) -> str:
    columns = sorted({i.subject for o in operations for i in o.of_kind(Kind.STATUS)})
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    rows = []
    for op in operations:
        by_status = {i.subject: i for i in op.of_kind(Kind.STATUS)}
        cells = "".join(_cell(by_status.get(c), e) for c in columns)
        rows.append(
            f"<tr><td><code>{e(op.method)} {e(op.path)}</code></td><td class=num>{op.covered}/{op.documented}</td>"
            f"{cells}</tr>"
        )
    return f"<table class=status-matrix><tr><th>operation × status</th><th>items</th>{head}</tr>{''.join(rows)}</table>"


def _operation_detail(op: OperationCoverage, e: Escape) -> str:
    constraints = op.of_kind(Kind.CONSTRAINT)
    fields = op.of_kind(Kind.RESPONSE_FIELD)
    if not constraints and not fields:
        return ""
    out = [f"<details><summary><code>{e(op.method)} {e(op.path)}</code>: {op.covered}/{op.documented}</summary>"]
    if constraints:
        by_field: dict[tuple[str, str], list[Item]] = {}
        for item in constraints:
            by_field.setdefault((item.location, item.subject), []).append(item)
        out.append("<table class=constraint-matrix><tr><th>field × constraint</th><th>in</th><th>exercised</th></tr>")
        for (location, name), items in by_field.items():
            chips = "".join(
                f"<span class='chip {'cov-yes' if i.covered else 'cov-no'}'"
                f"{'' if i.covered else ' title=' + chr(39) + e(i.reason or '') + chr(39)}>{e(i.detail)}</span>"
                for i in items
            )
            out.append(f"<tr><td><code>{e(name)}</code></td><td>{e(location)}</td><td>{chips}</td></tr>")
        out.append("</table>")
    if fields:
        chips = "".join(
            f"<span class='chip {'cov-yes' if i.covered else 'cov-no'}' title='{e(i.reason or i.detail)}'>"
            f"{e(i.subject)}</span>"
            for i in fields
        )
        out.append(f"<p>Response fields checked: {chips}</p>")
    out.append("</details>")
    return "".join(out)


__all__ = ["failure_count", "render"]
