"""JUnit XML: one testsuite per API and family, one testcase per operation × check.

JUnit has no "observed": an outcome with observations only is a passing testcase whose
system-out carries them (a note CI shows without turning red); under --strict it is a
failure. Skipped testcases say why."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

from specs.redact import Redactor
from specs.text import shorten

from ..results import Outcome, RunResult, Status


def write_junit(result: RunResult, path: Path, redact: Redactor) -> None:
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
            notes = "\n\n".join(
                f"observed: {b.what}\nspec: {b.spec_pointer}\ngot: {b.evidence}"
                + (f"\nreproduce: {b.curl}" if b.curl else "")
                for b in outcome.observations
            )
            if outcome.status is Status.FAILED or (result.strict and outcome.observations):
                text = "\n\n".join(
                    f"expected: {f.expected}\nspec: {f.spec_pointer}\ngot: {f.actual}"
                    + (f"\nreproduce: {f.curl}" if f.curl else "")
                    for f in outcome.failures
                )
                message = outcome.failures[0].expected if outcome.failures else outcome.observations[0].what
                failure = ElementTree.SubElement(case, "failure", message=shorten(message, 300), type=outcome.check)
                failure.text = "\n\n".join(t for t in (text, notes) if t)
            elif outcome.status is Status.SKIPPED:
                ElementTree.SubElement(case, "skipped", message=outcome.note or "")
            if notes:
                ElementTree.SubElement(case, "system-out").text = notes
    if result.leftovers:
        suite = ElementTree.SubElement(root, "testsuite", name="cleanup", tests="1", failures="1")
        case = ElementTree.SubElement(suite, "testcase", classname="cleanup", name="delete what the run created")
        ElementTree.SubElement(case, "failure", message="could not delete").text = "\n".join(result.leftovers)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ElementTree.tostring(root, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + redact(text), encoding="utf-8")
