"""What a run found: one `Outcome` per API × operation × family × check, with its failures
(documented behaviour broken, with the proof) and observations (a choice other than our
mock's where the documentation leaves it open: reported, not a verdict unless --strict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from specs.redact import Redactor
from specs.text import shorten

from .errors import BROKEN, CONFORMS
from .samples import Sample
from .trail import Trail

EXCERPT = 600  # characters of what came back that a finding keeps


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    OBSERVED = "observed"  # observations and no failures: conforming, but worth knowing
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Part:
    """One labelled piece of evidence, as every report format shows it."""

    name: str  # a stable key: the JSON field, the HTML class (`got`, `curl`)
    label: str  # what a reader sees (`got`, `reproduce`)
    text: str  # redacted when the evidence was made
    code: bool = False  # a command or a script: shown verbatim as code, its lines kept


@dataclass(frozen=True)
class Evidence:
    """What backs a finding: what came back, and a command that sends the request again.
    Every format (console, JUnit, JSON, HTML, Markdown) renders `parts()` and `as_json()`:
    to show more (numbered steps, a reproduction script), add a field and its part here.
    Made redacted (and each text bounded) by whoever found it, what came back by `answered`;
    the server's text is kept as data (a control character, raw): each format escapes it."""

    got: str
    curl: str | None = None
    # The requests behind a failure, numbered, with a script that sends them again (`replay`).
    trail: Trail | None = None

    def parts(self) -> list[Part]:
        parts = [Part("got", "got", self.got)]
        if self.curl:
            parts.append(Part("curl", "reproduce", self.curl, code=True))
        if self.trail is not None and len(self.trail.steps) > 1:
            parts.append(Part("steps", "steps", self.trail.numbered(), code=True))
        if self.trail is not None and self.trail.script:
            parts.append(Part("script", "reproduction script", self.trail.script, code=True))
        return parts

    def as_json(self) -> dict[str, Any]:
        """The JSON report's fields beside a finding's own (`got` is the finding's)."""
        return {"curl": self.curl} | ({"trail": self.trail.as_json()} if self.trail is not None else {})


def answered(status: int | None, content_type: str, body: str, redact: Redactor) -> str:
    """What came back, as every finding's evidence shows it (our checks' and Schemathesis'):
    the status, the content type and the body, every key redacted, then cut. A JSON body is
    shown from its parsed value (`Redactor.body`): a key a server wrote under an escape (a
    `\\u` escape per character, a Python repr inside a JSON string) is found there as it is
    in no written form; a body that is not JSON is its text, redacted. Redacted before it is
    cut: a key cut in half is no longer recognisable."""
    return redact.excerpt(f"{status} {content_type} {redact.body(body)}".rstrip(), EXCERPT)


@dataclass
class Failure:
    """Documented behaviour broken: what was expected, where the spec says so, the proof."""

    expected: str
    evidence: Evidence
    spec_pointer: str
    count: int = 1
    label: ClassVar[str] = "expected"

    @property
    def statement(self) -> str:
        return self.expected

    @property
    def fold_key(self) -> tuple[str, str, str]:
        # The same broken rule answered the same way is one failure, however often it is seen.
        return (self.expected, shorten(self.evidence.got.split("\n", 1)[0], 80), self.spec_pointer)


@dataclass
class Observation:
    """The server answered otherwise than our mock where the documentation allows it, e.g.
    "undocumented constraint: `limit=-5` answered 400"."""

    what: str
    evidence: Evidence
    spec_pointer: str
    count: int = 1
    label: ClassVar[str] = "observed"

    @property
    def statement(self) -> str:
        return self.what

    @property
    def fold_key(self) -> tuple[str, str]:
        return (self.what, self.spec_pointer)


Finding = Failure | Observation


@dataclass
class Outcome:
    api: str
    operation_id: str
    method: str
    path: str
    family: str
    check: str
    status: Status = Status.PASSED
    failures: list[Failure] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    note: str | None = None  # why it was skipped
    cases: int = 0  # generated test cases behind this outcome (Schemathesis), 0 for our checks

    def mark_checked(self) -> None:
        """The check was made: a skip recorded before it no longer stands."""
        if self.status is Status.SKIPPED:
            self.status, self.note = Status.PASSED, None

    def mark_skipped(self, why: str) -> None:
        """The check could not be made, and why; a finding recorded before it stands."""
        if self.status is Status.PASSED and not self.failures:
            self.status, self.note = Status.SKIPPED, why

    def count_case(self) -> None:
        """One more generated case judged by this check (Schemathesis)."""
        self.mark_checked()
        self.cases += 1

    def add_failure(self, failure: Failure) -> None:
        self.status = Status.FAILED
        for known in self.failures:
            if known.fold_key == failure.fold_key:
                known.count += failure.count
                return
        self.failures.append(failure)

    def add_observation(self, observation: Observation) -> None:
        if self.status is not Status.FAILED:
            self.status = Status.OBSERVED
        for known in self.observations:
            if known.fold_key == observation.fold_key:
                known.count += observation.count
                return
        self.observations.append(observation)

    def seen_again(self, statement: str, spec_pointer: str) -> bool:
        """Count one more sighting of a finding already recorded (by what it states and where
        the spec says it, whatever came back this time); False if there is none."""
        recorded: list[Finding] = [*self.failures, *self.observations]
        for known in recorded:
            if known.statement == statement and known.spec_pointer == spec_pointer:
                known.count += 1
                return True
        return False


@dataclass
class RunResult:
    outcomes: list[Outcome] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # created ids the suite could not delete
    duration: float = 0.0
    strict: bool = False  # --strict: observations count as failures
    samples: list[Sample] = field(default_factory=list)  # every exchange, for spec coverage

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is Status.FAILED]

    @property
    def observed(self) -> list[Outcome]:
        """Every outcome with observations, failed ones included."""
        return [o for o in self.outcomes if o.observations]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is Status.SKIPPED]

    def count(self, status: Status) -> int:
        return sum(o.status is status for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        if self.failed or self.leftovers or (self.strict and self.observed):
            return BROKEN
        return CONFORMS
