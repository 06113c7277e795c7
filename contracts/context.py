"""The state one family's checks share: the target, a client, the spec, and the outcomes.

A check is a small named function `check(ctx)`; it sends requests through `ctx.send` and
states what it expected with `ctx.expect`. `send` is a chain of named jobs: the credential
(`Credential`: whose key, one meaning), `refuse_writes` (--read-only), the request
(`Client.send`), then `take_in`: `keep_sample` (spec coverage), `note_created` (clean-up),
`judge_server_error` (no 5xx) and `judge_against_spec` (openapi-core, the check
`response_matches_spec`). A caller that sends otherwise can still `take_in` its answers.

Three verdicts, by the evidence: `expect`/`fail` when documented behaviour is broken,
`observe` when the server made another choice where the documentation leaves it open (a
note, not a failure), `skip` when the check could not be made and why.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import specs
from specs import Operation
from specs.media import not_json
from specs.redact import Redactor

from . import reference
from .leeway import error_status_open
from .results import EXCERPT, Evidence, Failure, Observation, Outcome, answered
from .samples import Sample
from .target import Client, Credential, Exchange, Target
from .trail import Recorded, Trail, Verdict, record_of, script, steps_of

SERVER_ERROR = "not_a_server_error"  # Schemathesis' name for the same rule
RESPONSE_MATCHES_SPEC = "response_matches_spec"


class ReadOnlyViolation(RuntimeError):
    """A check tried to write under --read-only: a bug in the suite, stopped before sending."""


@dataclass
class Context:
    target: Target
    api: str
    family: str
    client: Client
    run_tag: str  # unique per run: marks what this run created (e.g. as ownerId)
    outcomes: dict[tuple[str, str, str, str], Outcome] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    # Every owner tag a check writes (the run tag, or one derived from it): clean-up lists
    # each, so a create whose answer was lost is still found.
    tags: list[str] = field(default_factory=list)
    # What a check made as the other tenant (--other-key): deleted after the run with that key.
    other_created: list[str] = field(default_factory=list)
    other_tags: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    # What the running check sent (the runner empties it before each check): a failure's
    # trail is the part of it the failing exchange depends on.
    records: list[tuple[Exchange, Recorded]] = field(default_factory=list)

    @property
    def spec(self) -> specs.Spec:
        return specs.load(self.api)

    def tag(self, suffix: str) -> str:
        """An owner tag derived from the run's, recorded for clean-up."""
        tag = f"{self.run_tag}-{suffix}"
        self.tags.append(tag)
        return tag

    def other_tag(self, suffix: str) -> str:
        """An owner tag the other tenant writes, recorded for clean-up with its key."""
        tag = f"{self.run_tag}-{suffix}"
        self.other_tags.append(tag)
        return tag

    def operations(self, *, writes: bool | None = None) -> Iterable[Operation]:
        for op in self.spec.operations:
            is_write = op.method not in ("GET", "HEAD")
            if writes is None or writes == is_write:
                if is_write and self.target.read_only:
                    continue
                yield op

    def outcome(self, op: Operation, check: str) -> Outcome:
        key = (self.api, op.operation_id, self.family, check)
        found = self.outcomes.get(key)
        if found is None:
            found = self.outcomes[key] = Outcome(self.api, op.operation_id, op.method, op.path, self.family, check)
        return found

    def send(
        self, op: Operation, path: str | None = None, *, credential: Credential = Credential.MAIN, **request: Any
    ) -> Exchange:
        """Send to `op` (its own path unless given) as `credential`, and take in the answer:
        `request` is what `Client.send` takes (headers override the credential's)."""
        self.refuse_writes(op)
        exchange = self.client.send(op.method, path or op.path, key=self.target.key_for(credential), **request)
        self.records.append((exchange, record_of(credential.value, exchange, describe(exchange, self.target.redactor))))
        self.take_in(op, exchange)
        return exchange

    def refuse_writes(self, op: Operation) -> None:
        """--read-only: a write is stopped before it leaves (the families only iterate reads,
        so one reaching here is the suite's bug)."""
        if self.target.read_only and op.method not in ("GET", "HEAD"):
            raise ReadOnlyViolation(f"{op.method} {op.path} would change data and --read-only is set")

    def take_in(self, op: Operation, exchange: Exchange) -> None:
        """Everything the suite does with any answer to a spec operation, whatever the
        check that asked: keep it for coverage, note what it created, judge it by the spec."""
        self.keep_sample(op, exchange)
        self.note_created(op, exchange)
        self.judge_server_error(op, exchange)
        self.judge_against_spec(op, exchange)

    def keep_sample(self, op: Operation, exchange: Exchange) -> None:
        self.samples.append(self.sample(op, exchange))

    def note_created(self, op: Operation, exchange: Exchange) -> None:
        """Whatever a create answers with an id is deleted after the run."""
        response = exchange.response
        if response is not None and op.method == "POST" and response.is_success:
            created = body_json(exchange)
            if isinstance(created, dict) and isinstance(created.get("id"), str):
                self.created.append(created["id"])

    def judge_server_error(self, op: Operation, exchange: Exchange) -> None:
        """One proof, one verdict: a 5xx is this check's, whatever the sender expected."""
        if _server_error(exchange):
            self.fail(op, SERVER_ERROR, "no 5xx: a server error is never a documented answer", exchange)

    def judge_against_spec(self, op: Operation, exchange: Exchange) -> None:
        """A documented status's answer validated with openapi-core (`response_matches_spec`).
        An error body of another JSON shape is an observation (rule 6); an answer that is not
        JSON at all where only JSON is documented is a failure, errors included."""
        response = exchange.response
        if response is None or str(response.status_code) not in op.statuses:
            return
        status = response.status_code
        # A 5xx's proof is judge_server_error's: one proof, one verdict.
        content_type = response.headers.get("content-type", "")
        why_not_json = None if _server_error(exchange) else not_json(op, status, content_type, response.content)
        errors = reference.response_errors(self.api, response)
        if not errors and why_not_json is None:
            self.outcome(op, RESPONSE_MATCHES_SPEC).mark_checked()
            return
        # Redacted before it is cut: a key cut in half is no longer recognisable.
        excerpt = self.target.redactor.excerpt(errors[0], 300) if errors else ""
        if why_not_json is not None and status >= 400:
            expected = (
                f"a JSON body, the only kind documented for {status} ({why_not_json}): rule 6 leaves an error's"
                " fields open, not its media type; clients parse errors as JSON"
            )
            self.fail(op, RESPONSE_MATCHES_SPEC, expected, exchange)
        elif status >= 400:
            what = f"an error answer of another shape than the spec's ({excerpt}): not documented (rule 6)"
            self.observe(op, RESPONSE_MATCHES_SPEC, what, exchange)
        else:
            self.fail(
                op, RESPONSE_MATCHES_SPEC, f"a response that matches the spec ({excerpt or why_not_json})", exchange
            )

    def sample(self, op: Operation, exchange: Exchange) -> Sample:
        request, response = exchange.request, exchange.response
        raw_path = request.url.raw_path.decode("ascii", errors="replace").partition("?")[0]
        return Sample(
            api=self.api,
            operation_id=op.operation_id,
            method=request.method,
            path=raw_path,
            query=dict(parse_qsl(request.url.query.decode("ascii", errors="replace"), keep_blank_values=True)),
            body=_json_or_none(request.content),
            status=response.status_code if response is not None else None,
            response=body_json(exchange),
            curl=exchange.curl(self.target.redactor),
            source="families",
        )

    def expect(
        self,
        op: Operation,
        check: str,
        ok: bool,
        expected: str,
        exchange: Exchange | None,
        pointer: str = "",
        statuses: Iterable[str] = (),
    ) -> bool:
        """`statuses`: the statuses the expectation allows, when that is what it is about
        (`replay` then judges the answer's status alone)."""
        self.outcome(op, check)  # recorded even when it passes
        if not ok and not _server_error(exchange):
            self.fail(op, check, expected, exchange, pointer, statuses)
        return ok

    def expect_status(
        self, op: Operation, check: str, exchange: Exchange, allowed: Iterable[str], why: str, pointer: str = ""
    ) -> bool:
        allowed = sorted(set(allowed))
        status = exchange.response.status_code if exchange.response is not None else None
        ok = status is not None and str(status) in allowed
        return self.expect(
            op, check, ok, f"{' or '.join(allowed)} {why}", exchange, pointer or f"{op.pointer}/responses", allowed
        )

    def expect_rejected(
        self, op: Operation, check: str, exchange: Exchange, allowed: Iterable[str], why: str, pointer: str = ""
    ) -> bool:
        """A documented constraint must be enforced. Where the documentation names no status
        for this error (the spec's 4xx come from our rules), another 4xx than our mock's is
        an observation; an answer that accepts is a failure either way."""
        allowed = sorted(set(allowed))
        status = exchange.response.status_code if exchange.response is not None else None
        if status is not None and str(status) not in allowed and error_status_open(op, status):
            self.outcome(op, check)
            self.observe(
                op,
                check,
                f"rejected with {status} where our mock answers {' or '.join(allowed)} {why}"
                " (the documentation names no status for this error)",
                exchange,
                pointer or f"{op.pointer}/responses",
            )
            return True
        return self.expect_status(op, check, exchange, allowed, why, pointer)

    def fail(
        self,
        op: Operation,
        check: str,
        expected: str,
        exchange: Exchange | None,
        pointer: str = "",
        statuses: Iterable[str] = (),
        trail: Trail | None = None,
    ) -> None:
        redact = self.target.redactor
        evidence = evidence_of(exchange, redact)
        trail = trail or self.trail_of(check, expected, exchange, tuple(statuses))
        failure = Failure(redact(expected), Evidence(evidence.got, evidence.curl, trail), pointer or op.pointer)
        self.outcome(op, check).add_failure(failure)

    def trail_of(self, check: str, expected: str, exchange: Exchange | None, statuses: tuple[str, ...]) -> Trail | None:
        """The requests of the running check the failure depends on, and how `replay` judges
        them again. A status (or a 5xx) is the failing exchange's own: the trail ends there.
        Anything else the check may have seen in a later answer (a get after the update it
        names): the trail ends at the check's last request and replay wants every answer as
        it was."""
        sent = [seen for seen, _ in self.records]
        if exchange is None or exchange not in sent:
            return None
        at = sent.index(exchange)
        by = "server_error" if check == SERVER_ERROR else "status" if statuses else "answer"
        records = [record for _, record in self.records[: at + 1 if by != "answer" else len(sent)]]
        steps = steps_of(records, expected, self.target.redactor, also=[at] if by == "answer" else [])
        title = f"{self.api} · {self.family} · {check}: {expected}"
        return Trail(
            steps, Verdict(by, statuses, self.api, check), script(self.api, self.target.redactor(title), steps)
        )

    def observe(self, op: Operation, check: str, what: str, exchange: Exchange | None, pointer: str = "") -> None:
        """The server chose otherwise than our mock where the documentation allows it: say
        what (e.g. "undocumented constraint: `limit=-5` answered 400") and show the answer."""
        redact = self.target.redactor
        observation = Observation(redact(what), evidence_of(exchange, redact), pointer or op.pointer)
        self.outcome(op, check).add_observation(observation)

    def skip(self, op: Operation, check: str, why: str) -> None:
        self.outcome(op, check).mark_skipped(why)


def evidence_of(exchange: Exchange | None, redact: Redactor) -> Evidence:
    """The proof an exchange gives: what came back, and the request as a curl command."""
    return Evidence(describe(exchange, redact), exchange.curl(redact) if exchange is not None else None)


def describe(exchange: Exchange | None, redact: Redactor) -> str:
    """What came back, for a report (`results.answered`), or why nothing did."""
    if exchange is None:
        return "no request could be made"
    if exchange.response is None:
        return redact.excerpt(f"no response: {exchange.error}", EXCERPT)
    response = exchange.response
    return answered(response.status_code, response.headers.get("content-type", "(none)"), response.text, redact)


def _server_error(exchange: Exchange | None) -> bool:
    return exchange is not None and exchange.response is not None and exchange.response.status_code >= 500


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def body_json(exchange: Exchange) -> Any:
    """The response's JSON, or None when there is none or it is not JSON."""
    if exchange.response is None:
        return None
    try:
        return exchange.response.json()
    except ValueError:
        return None
