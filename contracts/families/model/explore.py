"""Running the state machine against a deployment: Hypothesis draws sequences within the
budget (examples, steps, seconds), each failing sequence is shrunk, and the shortest one
seen per check becomes that check's failure with its numbered steps as evidence.

Hypothesis only ever sees `Violation`s: a stop (the run's deadline, a signal) or the suite's
own bug halts the machine (every later step does nothing), so it is neither shrunk nor
taken for a finding, and is raised again once Hypothesis returns. Past the time budget the
steps do nothing either: shrinking then ends quickly with the shortest sequence found so far.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.configuration import set_hypothesis_home_dir, storage_directory
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from ...context import Context, body_json, describe
from ...errors import CannotRun
from ...target import Credential, Exchange
from ...trail import Trail, Verdict, record_of, script, steps_of
from .core import TENANTS, Answer, Problem, Request, Step, dumps, judged_operations
from .inputs import TagSlot, text
from .sequence import CHECKS, Run, new_model

JSON = {"Content-Type": "application/json"}
# What shrinking may take after the first finding, of the time budget and at most: a
# shorter sequence is worth a few seconds, not the whole budget.
SHRINK_SHARE, SHRINK_SECONDS = 0.25, 10.0
# Answers per operation and status validated against the spec (openapi-core costs more
# than the request): the model judges every answer itself, Schemathesis every shape.
SPEC_SAMPLES = 3


@dataclass(frozen=True)
class Budget:
    examples: int  # sequences Hypothesis tries (before shrinking)
    steps: int  # the most steps in one sequence
    seconds: float  # per API: past it, no new request is sent


class Violation(Exception):
    """A check failed on a step: Hypothesis shrinks the sequence that led to it."""


# One class per check, so Hypothesis shrinks each distinct finding on its own.
_VIOLATIONS: dict[str, type[Violation]] = {}


def violation(check: str) -> type[Violation]:
    found = _VIOLATIONS.get(check)
    if found is None:
        found = _VIOLATIONS[check] = type(f"Violation_{check}", (Violation,), {})
    return found


@dataclass
class Finding:
    problem: Problem
    steps: list[Step]


@dataclass
class Explorer:
    """What one API's exploration shares across Hypothesis' examples: the context, the
    budget, the owner tags, and the shortest failing sequence per check."""

    ctx: Context
    budget: Budget
    writable: str | None = None  # systemprompt.io: the conversation the main key may write
    findings: dict[str, Finding] = field(default_factory=dict)
    halted: BaseException | None = None
    exercised: set[tuple[str, str]] = field(default_factory=set)  # (operationId, check) judged
    sequences: int = 0
    requests: int = 0
    _tags: dict[tuple[str, TagSlot], str] = field(default_factory=dict)
    _marks: int = 0
    _validated: dict[tuple[str, int | None], int] = field(default_factory=dict)
    ends: float = 0.0

    def __post_init__(self) -> None:
        self.ends = time.monotonic() + self.budget.seconds

    @property
    def tenants(self) -> tuple[str, ...]:
        return TENANTS if self.ctx.target.other_key is not None else TENANTS[:1]

    @property
    def writes(self) -> bool:
        return not self.ctx.target.read_only

    def spent(self) -> bool:
        """Whether no more requests may be sent: halted, the budget spent, or the run's
        deadline close (clean-up needs what is left)."""
        remaining = self.ctx.target.remaining()
        return self.halted is not None or time.monotonic() > self.ends or (remaining is not None and remaining < 1)

    def new_run(self) -> Run:
        self.sequences += 1
        return Run(new_model(self.ctx.api, self.writable), self.send)

    # --- values the rules draw, made concrete for this run --------------------------------

    def owner_tag(self, tenant: str, slot: TagSlot) -> str:
        """An owner tag of `tenant`, recorded for clean-up with that tenant's key: the short
        one, or padded with the slot's palette to its length (at or next to the limit)."""
        found = self._tags.get((tenant, slot))
        if found is not None:
            return found
        base = f"{self.ctx.run_tag}-model-{tenant}{slot.slot}"
        value = base if slot.length <= len(base) + 1 else f"{base}-{text(slot.length - len(base) - 1, slot.palette)}"
        suffix = value[len(self.ctx.run_tag) + 1 :]
        tag = self.ctx.tag(suffix) if tenant == "main" else self.ctx.other_tag(suffix)
        self._tags[(tenant, slot)] = tag
        return tag

    def fresh(self, name: str) -> str:
        """A value no conversation has, for a filter that must match none of ours."""
        return f"{self.ctx.run_tag}-no-such-{name}"

    def marker(self, tenant: str) -> str:
        self._marks += 1
        return f"{self.ctx.run_tag}-model-{tenant}-mark-{self._marks}"

    # --- sending ----------------------------------------------------------------------------

    def send(self, request: Request) -> tuple[Answer, Exchange]:
        """Send one step's request as its tenant; the answer is kept for coverage and judged
        by the spec like every other family's (a 5xx is the model's own check)."""
        op = self.ctx.spec.operation(request.op)
        credential = Credential(request.tenant)
        self.ctx.refuse_writes(op)
        self.requests += 1
        started = time.monotonic()
        exchange = self.ctx.client.send(
            op.method,
            request.path,
            key=self.ctx.target.key_for(credential),
            params=request.params or None,
            headers=JSON if request.has_body else None,
            content=dumps(request.body).encode() if request.has_body else None,
        )
        answer = _answer(exchange, started, time.monotonic())
        self.ctx.keep_sample(op, exchange)
        seen = self._validated.get((op.operation_id, answer.status), 0)
        if seen < SPEC_SAMPLES:
            self._validated[(op.operation_id, answer.status)] = seen + 1
            self.ctx.judge_against_spec(op, exchange)
        if (
            op.method == "POST"
            and answer.ok
            and isinstance(answer.body, dict)
            and isinstance(answer.body.get("id"), str)
        ):
            # Deleted after the run with the key that made it.
            (self.ctx.created if credential is Credential.MAIN else self.ctx.other_created).append(answer.body["id"])
        return answer, exchange

    def tidy(self, run: Run) -> None:
        """Delete what a sequence created, unjudged and unrecorded (clean-up after the run
        finds anything left by id or owner tag)."""
        for action in run.model.cleanup():
            if self.halted is not None:
                return
            request = run.model.request(action, len(run.steps) + 1)
            if request is None:
                continue
            try:
                self.send(request)
            except CannotRun as exc:
                self.halted = exc
            except Exception:
                return

    # --- what the machine found -------------------------------------------------------------

    def judged(self, step: Step) -> None:
        for check in CHECKS[self.ctx.api]:
            if step.action.op in (judged_operations(check) or (step.action.op,)):
                self.exercised.add((step.action.op, check.__name__))
        for problem in step.problems:
            if problem.observation:
                op = self.ctx.spec.operation(step.action.op)
                self.ctx.observe(op, problem.check, problem.expected, step.exchange)

    def found(self, problem: Problem, steps: list[Step]) -> None:
        """Keep the shortest failing sequence per check (Hypothesis' shrinking feeds it)."""
        if not self.findings:
            shrinking = min(self.budget.seconds * SHRINK_SHARE, SHRINK_SECONDS)
            self.ends = min(self.ends, time.monotonic() + shrinking)
        known = self.findings.get(problem.check)
        if known is None or len(steps) < len(known.steps):
            self.findings[problem.check] = Finding(problem, list(steps))

    def report(self) -> None:
        """Each check an outcome per operation it judged; each finding a failure whose
        evidence is its shortest sequence."""
        for op_id, check in sorted(self.exercised):
            self.ctx.outcome(self.ctx.spec.operation(op_id), check)
        for check, finding in self.findings.items():
            last = finding.steps[-1]
            op = self.ctx.spec.operation(last.action.op)
            trail = self.trail(check, finding)
            self.ctx.fail(op, check, finding.problem.expected, last.exchange, trail=trail)

    def trail(self, check: str, finding: Finding) -> Trail:
        """The shortest failing sequence as numbered steps, each with what the model
        expected, the actions `replay` runs the model over again, and a curl script."""
        redact = self.ctx.target.redactor
        records = [record_of(s.action.tenant, s.exchange, describe(s.exchange, redact)) for s in finding.steps]
        expected = [s.expected for s in finding.steps[:-1]] + [finding.problem.expected]
        steps = steps_of(records, expected, redact, whole=True)
        steps = tuple(replace(sent, action=s.action.to_json()) for sent, s in zip(steps, finding.steps, strict=True))
        verdict = Verdict("model", (), self.ctx.api, check, self.writable)
        title = redact(f"{self.ctx.api} · model · {check}: {finding.problem.expected}")
        return Trail(steps, verdict, script(self.ctx.api, title, steps))


def _answer(exchange: Exchange, sent: float, received: float) -> Answer:
    response = exchange.response
    if response is None:
        return Answer(None, None, "", None, exchange.error, sent, received)
    return Answer(
        response.status_code,
        body_json(exchange),
        response.text[:2000],
        response.headers.get("content-type"),
        None,
        sent,
        received,
    )


def hypothesis_settings(budget: Budget) -> settings:
    # Every setting given: a profile loaded elsewhere (e.g. a test suite's) changes nothing.
    return settings(
        max_examples=budget.examples,
        stateful_step_count=budget.steps,
        deadline=None,
        database=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
        report_multiple_bugs=True,
    )


def run_machine(explorer: Explorer, machine: type[RuleBasedStateMachine]) -> None:
    """Run the machine within the budget, then report; a halt is raised again here."""

    # The class is this run's own (built per run), so the seed Hypothesis reads can sit on it.
    seeded = hypothesis_seed(explorer.ctx.target.seed)(machine)
    try:
        with _scratch_home():
            run_state_machine_as_test(seeded, settings=hypothesis_settings(explorer.budget))
    except Exception as exc:
        if explorer.halted is None and not _only_violations(exc) and not explorer.findings:
            raise
    if explorer.halted is not None:
        raise explorer.halted
    explorer.report()


@contextmanager
def _scratch_home() -> Iterator[None]:
    """Hypothesis keeps caches in `.hypothesis/` under the working directory: a run of the
    suite leaves nothing in its user's folder, so they go to a temporary one, removed after
    (also when the run is stopped)."""
    before = storage_directory("", intent_to_write=False).home_directory
    with tempfile.TemporaryDirectory(prefix="convo-contracts-hypothesis-") as home:
        set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            set_hypothesis_home_dir(before)


def _only_violations(exc: BaseException) -> bool:
    leaves = list(_leaves(exc))
    return bool(leaves) and all(isinstance(e, Violation) for e in leaves)


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    nested = getattr(exc, "exceptions", None)
    if isinstance(nested, tuple | list) and nested:
        for inner in nested:
            yield from _leaves(inner)
    else:
        yield exc


__all__ = ["Budget", "Explorer", "Violation", "run_machine", "violation"]
