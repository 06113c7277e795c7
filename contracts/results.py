"""What a run found: one `Outcome` per API × operation × family × check, with its failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
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
        return (self.expected, self.actual.split("\n", 1)[0][:80], self.spec_pointer)


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
    note: str | None = None

    def add_failure(self, failure: Failure) -> None:
        self.status = Status.FAILED
        for known in self.failures:
            if known.fold_key == failure.fold_key:
                known.count += failure.count
                return
        self.failures.append(failure)


@dataclass
class RunResult:
    outcomes: list[Outcome] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # created ids the suite could not delete
    duration: float = 0.0

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is Status.FAILED]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.leftovers else 0
