"""`convo-contracts replay REPORT.json`: send each failure's recorded requests again, with
the same target options as `run`, and say per failure whether it is still failing or fixed.

A failure carries its trail (`contracts.trail`): the requests in order, which values each
took from an earlier answer, and how to judge it again. The model family's are run through
the model again from their actions (the same check must fail again); the others are sent
again with the new answers' ids and cursors and judged by the recorded status rule, by the
5xx, or by whether the last answer is still the failing one.

Exit status: 1 when any failure is still failing, 2 when none is but some could not be
replayed (no trail, a credential sent as a header on purpose, a key not given, no answer),
0 when every failure is fixed or the report has none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import specs

from .context import Context, body_json
from .errors import CannotRun
from .families.model.core import Action
from .families.model.explore import Budget, Explorer
from .families.model.sequence import Run, new_model
from .runner import _clean_up
from .settings import RunSettings
from .target import Client, Credential, Exchange, Target
from .trail import Sent, Trail, fingerprint, given, parse_json, resolve

STILL_FAILING, FIXED, NOT_REPLAYED = "still failing", "fixed", "not replayed"
_JSON = {"Content-Type": "application/json"}


class ReportUnreadable(Exception):
    """The report file cannot be read as a convo-contracts JSON report: exit 2, one line."""


@dataclass(frozen=True)
class Recorded:
    """One failure of the report, as replay needs it."""

    api: str
    operation_id: str
    family: str
    check: str
    expected: str
    trail: Trail | None

    @property
    def title(self) -> str:
        return f"{self.api} {self.operation_id} · {self.family} · {self.check}"


@dataclass(frozen=True)
class Replayed:
    failure: Recorded
    verdict: str  # STILL_FAILING, FIXED or NOT_REPLAYED
    why: str


def read_report(path: Path) -> list[Recorded]:
    """Every failure in a JSON report written by `convo-contracts run --json`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError):
        raise ReportUnreadable(f"{path} is not a JSON report of convo-contracts run --json") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise ReportUnreadable(f"{path} is not a JSON report of convo-contracts run --json (no results)")
    found = []
    try:
        for result in results:
            for failure in result.get("failures") or []:
                trail = failure.get("trail")
                found.append(
                    Recorded(
                        str(result["api"]),
                        str(result["operationId"]),
                        str(result["family"]),
                        str(result["check"]),
                        str(failure.get("expected", "")),
                        Trail.from_json(trail) if isinstance(trail, dict) else None,
                    )
                )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ReportUnreadable(f"{path}: a failure in it has no readable trail ({type(exc).__name__})") from None
    return found


@dataclass
class Session:
    """What one API's replays share: a context to send through, and what to clean up."""

    target: Target
    api: str
    ctx: Context
    tags: dict[Credential, list[str]] = field(default_factory=dict)

    @classmethod
    def open(cls, target: Target, api: str) -> Session:
        return cls(target, api, Context(target, api, "replay", Client(target, api), "convo-contracts-replay"))

    def remember_owner(self, credential: Credential, body: Any) -> None:
        """An owner tag a replayed write carried: clean-up lists it (a lost answer's
        conversation is still found)."""
        owner = body.get("ownerId") if isinstance(body, dict) else None
        if isinstance(owner, str) and owner:
            self.tags.setdefault(credential, [])
            if owner not in self.tags[credential]:
                self.tags[credential].append(owner)

    def close(self) -> list[str]:
        self.ctx.client.close()
        left = _clean_up(self.target, self.api, self.ctx.created, self.tags.get(Credential.MAIN, []))
        if self.ctx.other_created or self.tags.get(Credential.OTHER):
            left += _clean_up(
                self.target, self.api, self.ctx.other_created, self.tags.get(Credential.OTHER, []), Credential.OTHER
            )
        return left


def replay_all(failures: Sequence[Recorded], settings: RunSettings) -> tuple[list[Replayed], list[str]]:
    """Replay each failure against its API's target; what could not be deleted after."""
    sessions: dict[str, Session] = {}
    done: list[Replayed] = []
    try:
        for failure in failures:
            if failure.api not in settings.targets:
                done.append(Replayed(failure, NOT_REPLAYED, f"the {failure.api} API is not among this run's targets"))
                continue
            if failure.api not in sessions:
                sessions[failure.api] = Session.open(settings.targets[failure.api], failure.api)
            done.append(replay_one(failure, sessions[failure.api]))
    finally:
        leftovers = [item for session in sessions.values() for item in session.close()]
    return done, leftovers


def replay_one(failure: Recorded, session: Session) -> Replayed:
    trail = failure.trail
    if trail is None or not trail.steps:
        return Replayed(failure, NOT_REPLAYED, "the report recorded no requests for it")
    missing = _missing_credentials(trail.steps, session.target)
    if missing:
        return Replayed(failure, NOT_REPLAYED, missing)
    if session.target.read_only and any(s.method not in ("GET", "HEAD") for s in trail.steps):
        return Replayed(failure, NOT_REPLAYED, "its requests write and --read-only is set")
    if trail.verdict.by == "model":
        return _replay_model(failure, trail, session)
    return _replay_requests(failure, trail, session)


def _missing_credentials(steps: Sequence[Sent], target: Target) -> str:
    for step in steps:
        if step.credential == "custom":
            return f"step {step.number} sent a credential header on purpose, which the report does not keep"
        try:
            credential = Credential(step.credential)
        except ValueError:
            return f"step {step.number} names an unknown credential"
        if credential is not Credential.NONE and getattr(target, _KEYS[credential]) is None:
            return f"step {step.number} needs the {credential.value} key ({_OPTIONS[credential]})"
    return ""


_KEYS = {Credential.MAIN: "api_key", Credential.OTHER: "other_key", Credential.READONLY: "readonly_key"}
_OPTIONS = {Credential.MAIN: "--api-key", Credential.OTHER: "--other-key", Credential.READONLY: "--readonly-key"}


def _replay_model(failure: Recorded, trail: Trail, session: Session) -> Replayed:
    """The recorded actions through a fresh model: still failing when the same check fails
    on some step; a different check failing is a failure too (the sequence still breaks)."""
    explorer = Explorer(session.ctx, Budget(1, len(trail.steps), 0.0), trail.verdict.writable)
    run = Run(new_model(failure.api, trail.verdict.writable), explorer.send)
    try:
        for sent in trail.steps:
            if sent.action is None:
                return Replayed(failure, NOT_REPLAYED, f"step {sent.number} has no recorded action")
            action = Action.from_json(sent.action)
            session.remember_owner(Credential(action.tenant), action.body)
            step = run.run(action)
            if step is None:
                return Replayed(failure, NOT_REPLAYED, f"step {sent.number} could not be made (an earlier step failed)")
            problem = Run.failing(step)
            if problem is not None:
                what = "" if problem.check == failure.check else f" (now {problem.check})"
                return Replayed(failure, STILL_FAILING, f"step {step.number}{what}: {problem.expected}")
    finally:
        explorer.tidy(run)
    return Replayed(failure, FIXED, f"all {len(trail.steps)} steps answered as the model expects")


def _replay_requests(failure: Recorded, trail: Trail, session: Session) -> Replayed:
    """Each recorded request again, the values it took from earlier answers taken from the
    new ones; the last answer judged as the failure recorded how."""
    answers: dict[int, Any] = {}
    prints: dict[int, str] = {}
    statuses: dict[int, int | None] = {}
    exchange: Exchange | None = None
    spec = specs.load(failure.api)
    for sent in trail.steps:
        path, query, body = _filled(sent, answers)
        if path is None:
            return Replayed(failure, NOT_REPLAYED, f"step {sent.number}: an earlier answer no longer gives its id")
        credential = Credential(sent.credential)
        op = _operation(spec, sent.method, path)
        if op is not None:
            session.ctx.refuse_writes(op)
        exchange = session.ctx.client.send(
            sent.method,
            path,
            key=session.target.key_for(credential),
            params=dict(query) or None,
            headers=dict(sent.headers) or None,
            content=body.encode() if body is not None else None,
        )
        answers[sent.number] = answer = body_json(exchange)
        response = exchange.response
        earlier = {value for number in answers if number < sent.number for value, _ in given(answers[number])}
        prints[sent.number] = fingerprint(answer, earlier)
        statuses[sent.number] = response.status_code if response is not None else None
        made = answer.get("id") if isinstance(answer, dict) else None
        if sent.method == "POST" and response is not None and response.is_success and isinstance(made, str):
            (session.ctx.created if credential is Credential.MAIN else session.ctx.other_created).append(made)
        if sent.method in ("POST", "PUT"):
            session.remember_owner(credential, parse_json(body))
    assert exchange is not None
    last, response = trail.steps[-1], exchange.response
    if response is None:
        return Replayed(failure, NOT_REPLAYED, f"no answer to step {last.number}: {exchange.error}")
    status, verdict = response.status_code, trail.verdict
    answered = f"step {last.number} answered {status}"
    if verdict.by == "status":
        still = str(status) not in verdict.allowed
        return Replayed(
            failure, STILL_FAILING if still else FIXED, f"{answered} ({' or '.join(verdict.allowed)} wanted)"
        )
    if verdict.by == "server_error":
        return Replayed(failure, STILL_FAILING if status >= 500 else FIXED, answered)
    # Every answer the same as when it failed (ids, cursors and times aside): still failing.
    changed = [s.number for s in trail.steps if prints.get(s.number) != s.fingerprint or statuses[s.number] != s.status]
    if not changed:
        return Replayed(failure, STILL_FAILING, f"{answered}: every answer as when it failed")
    return Replayed(failure, FIXED, f"step {changed[0]} answered otherwise than when it failed")


def _filled(sent: Sent, answers: dict[int, Any]) -> tuple[str | None, list[tuple[str, str]], str | None]:
    """The step's path, query and body with each used value taken from the new answers."""
    new: dict[str, str] = {}
    for use in sent.uses:
        value = resolve(answers.get(use.step), use.pointer)
        if not isinstance(value, str):
            return None, [], None
        new[use.value] = value
    path = "/".join(quote(new[unquote(s)], safe="") if s and unquote(s) in new else s for s in sent.path.split("/"))
    query = [(k, new.get(v, v)) for k, v in sent.query]
    body = sent.body
    if body is not None and new:
        parsed = parse_json(body)
        if parsed is not None:
            body = json.dumps(_swap(parsed, new), ensure_ascii=False, separators=(",", ":"))
    return path, query, body


def _swap(node: Any, new: dict[str, str]) -> Any:
    if isinstance(node, str):
        return new.get(node, node)
    if isinstance(node, dict):
        return {k: _swap(v, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_swap(v, new) for v in node]
    return node


def _operation(spec: specs.Spec, method: str, path: str) -> specs.Operation | None:
    """The spec operation a concrete path and method belong to (for --read-only)."""
    segments = path.split("/")
    for op in spec.operations:
        template = op.path.split("/")
        if op.method != method or len(template) != len(segments):
            continue
        if all(t == s or (t.startswith("{") and t.endswith("}")) for t, s in zip(template, segments, strict=True)):
            return op
    return None


def exit_code(done: Sequence[Replayed], leftovers: Sequence[str]) -> int:
    if any(r.verdict == STILL_FAILING for r in done) or leftovers:
        return 1
    return 2 if any(r.verdict == NOT_REPLAYED for r in done) else 0


__all__ = [
    "FIXED",
    "NOT_REPLAYED",
    "STILL_FAILING",
    "CannotRun",
    "Recorded",
    "Replayed",
    "ReportUnreadable",
    "exit_code",
    "read_report",
    "replay_all",
]
