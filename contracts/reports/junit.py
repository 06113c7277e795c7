"""JUnit XML: one testsuite per API and family, one testcase per operation × check.

JUnit has no "observed": an outcome with observations only is a passing testcase whose
system-out carries them (a note CI shows without turning red); under --strict it is a
failure. Skipped testcases say why.

Every text the tree holds (element text and attribute values, the server's ids, bodies and
messages) goes through one rule before it is serialised (`_inert`): keys redacted, then each
line made printable (`specs.text.printable`), our own line breaks kept. So only characters
XML 1.0 allows reach the file, and none a terminal acts on (a control character, a bare
`\\r`, a lone surrogate is shown escaped: `\\x1b`): CI can always parse it, and what CI
prints from it is inert. Attribute values are one line."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections import defaultdict

from specs.redact import Redactor
from specs.text import printable, shorten

from ..results import Finding, Outcome, RunResult, Status
from .console import entry_lines, for_terminal


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
        ElementTree.SubElement(case, "failure", message="could not delete").text = "\n".join(
            printable(redact(item))
            for item in result.leftovers  # an id's line break is not ours
        )
    _inert(root, redact)
    text = ElementTree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + redact(text)


def _inert(root: ElementTree.Element, redact: Redactor) -> None:
    """Every text in the tree redacted and printable (escaped XML hides a key from a redactor
    of the serialised text: `&lt;` is not `<`), our line breaks kept in element text."""
    for element in root.iter():
        if element.text:
            element.text = for_terminal(element.text, redact)
        for name, value in element.attrib.items():
            element.set(name, printable(redact(value)))


__all__ = ["render"]
