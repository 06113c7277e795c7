"""JUnit XML: one testsuite per API and family, one testcase per operation × check.

JUnit has no "observed": an outcome with observations only is a passing testcase whose
system-out carries them (a note CI shows without turning red); under --strict it is a
failure. Skipped testcases say why.

Only characters XML 1.0 allows reach the file: any other (a control character from a
server's body, a lone surrogate) is shown escaped (`\\x1b`), so CI can always parse it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections import defaultdict

from specs.redact import Redactor
from specs.text import shorten

from ..results import Finding, Outcome, RunResult, Status
from .console import entry_lines

# What XML 1.0 forbids (https://www.w3.org/TR/xml/#charsets), plus the other C0/C1 controls
# it only discourages: tab, line feed and carriage return are kept.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML 1.0 cannot carry (or only discourages) shown escaped."""
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )


def _findings(entries: list[Finding]) -> str:
    return "\n\n".join("\n".join(entry_lines(entry, indent="")) for entry in entries)


def render(result: RunResult, redact: Redactor) -> str:
    suites: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for outcome in result.outcomes:
        suites[(outcome.api, outcome.family)].append(outcome)
    root = ElementTree.Element("testsuites", name="convo-contracts", time=f"{result.duration:.3f}")
    for (api, family), outcomes in suites.items():
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=f"{api}.{family}",
            tests=str(len(outcomes)),
            failures=str(sum(o.status is Status.FAILED or bool(result.strict and o.observations) for o in outcomes)),
            skipped=str(sum(o.status is Status.SKIPPED for o in outcomes)),
        )
        for outcome in outcomes:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"{api}.{family}.{outcome.operation_id}",
                name=f"{outcome.method} {outcome.path} · {outcome.check}",
            )
            notes = _findings(list(outcome.observations))
            if outcome.status is Status.FAILED or (result.strict and outcome.observations):
                first = (outcome.failures or outcome.observations)[0]
                failure = ElementTree.SubElement(
                    case, "failure", message=shorten(first.statement, 300), type=outcome.check
                )
                failure.text = "\n\n".join(t for t in (_findings(list(outcome.failures)), notes) if t)
            elif outcome.status is Status.SKIPPED:
                ElementTree.SubElement(case, "skipped", message=outcome.note or "")
            if notes:
                ElementTree.SubElement(case, "system-out").text = notes
    if result.leftovers:
        suite = ElementTree.SubElement(root, "testsuite", name="cleanup", tests="1", failures="1")
        case = ElementTree.SubElement(suite, "testcase", classname="cleanup", name="delete what the run created")
        ElementTree.SubElement(case, "failure", message="could not delete").text = "\n".join(result.leftovers)
    text = ElementTree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + xml_text(redact(text))


__all__ = ["render", "xml_text"]
