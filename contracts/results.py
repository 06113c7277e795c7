"""What a run found: one `Outcome` per API × operation × family × check, with its failures
(documented behaviour broken, with the proof) and observations (a choice other than our
mock's where the documentation leaves it open: reported, not a verdict unless --strict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from specs.text import shorten

from .samples import Sample


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    OBSERVED = "observed"  # observations and no failures: conforming, but worth knowing
    SKIPPED = "skipped"


@dataclass
class Failure:
    expected: str
    actual: str
    spec_pointer: str
    curl: str | None = None
    count: int = 1

    @property
    def fold_key(self) -> tuple[str, str, str]:
        # The same broken rule answered the same way is one failure, however often it is seen.
        return (self.expected, shorten(self.actual.split("\n", 1)[0], 80), self.spec_pointer)


@dataclass
class Observation:
    """The server answered otherwise than our mock where the documentation allows it, e.g.
    "undocumented constraint: `limit=-5` answered 400"."""

    what: str
    evidence: str  # what came back (redacted, shortened)
    spec_pointer: str
    curl: str | None = None
    count: int = 1

    @property
    def fold_key(self) -> tuple[str, str]:
        return (self.what, self.spec_pointer)


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
            return 1
        return 0
