"""Realistic faults a client must survive: rate limits, gateway errors, broken connections.

A `Fault` is what to do to one request: answer a status (429 and 503 with `Retry-After`,
502, 504 — what any deployment behind a gateway can return although the docs do not list
them — or a status the operation documents), or break the transport: `reset` (connection
closed without a response), `truncate` (body cut mid-way), `slow-body` (body dripped over
`body_ms`). A `FaultRule` scopes a fault to all requests, one operation or one tenant, at a
rate or for the next N requests. Every fault knows where it came from, and says so.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Scope, Send

from specs import Operation
from specs.text import shorten

from ..api.request import RequestInfo
from ..protocol import connection

# Gateway and rate-limit statuses: forcible on every operation, documented or not.
GATEWAY_STATUSES = (429, 502, 503, 504)
RETRY_AFTER_STATUSES = (429, 503)
TRANSPORT_FAULTS = ("reset", "truncate", "slow-body")
FORCED_HEADER = "X-Mock-Forced"
MAX_DELAY_MS = 60_000
# A slow-body fault's pace and a forced 429/503's Retry-After when a rule does not say.
DEFAULT_BODY_MS = 2000
DEFAULT_RETRY_AFTER = 1
MAX_RETRY_AFTER = 86_400
RULE_FIELDS = ("status", "fault", "api", "operation", "tenant", "rate", "times", "retry_after", "body_ms")


class Source(StrEnum):
    """Where a forced answer came from: named in its message and its X-Mock-Forced header."""

    HEADER = "prefer-header"
    CONTROL = "control-plane"
    FLAG = "cli-flag"
    MARKER = "pytest-marker"
    FIXTURE = "pytest-fixture"

    @property
    def described(self) -> str:
        return {
            Source.HEADER: "the request's Prefer header",
            Source.CONTROL: "a fault rule set through PUT /__mock__/chaos",
            Source.FLAG: "a start-up flag (--fault, --error-rate)",
            Source.MARKER: "a convo_mock pytest marker",
            Source.FIXTURE: "convo_mock.chaos() in a test",
        }[self]


@dataclass(frozen=True)
class Fault:
    source: Source
    status: int | None = None
    transport: str | None = None  # one of TRANSPORT_FAULTS
    retry_after: int = DEFAULT_RETRY_AFTER
    body_ms: int = DEFAULT_BODY_MS

    @property
    def label(self) -> str:
        what = f"code={self.status}" if self.status is not None else f"fault={self.transport}"
        return f"{what} by {self.source.value}"

    def headers(self) -> dict[str, str]:
        headers = {FORCED_HEADER: self.source.value}
        if self.status in RETRY_AFTER_STATUSES:
            headers["Retry-After"] = str(self.retry_after)
        return headers

    def message(self) -> str:
        return f"forced by {self.source.described} ({self.label.partition(' by ')[0]})"


@dataclass
class FaultRule:
    fault: Fault
    api: str | None = None
    operation: str | None = None
    tenant: str | None = None
    rate: float = 1.0
    times: int | None = None  # the next N matching requests; None: until removed
    used: int = field(default=0)

    def as_json(self) -> dict[str, Any]:
        fault = self.fault
        return {
            "status": fault.status,
            "fault": fault.transport,
            "api": self.api,
            "operation": self.operation,
            "tenant": self.tenant,
            "rate": self.rate,
            "times": self.times,
            "remaining": None if self.times is None else self.times - self.used,
            "retry_after": fault.retry_after,
            "body_ms": fault.body_ms,
            "source": fault.source.value,
        }


def integer_within(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer within {low}..{high}, got {shorten(str(value), 30)}")
    return value


def fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    if not 0 <= value <= 1:  # NaN fails this too
        raise ValueError(f"{name} must be a number within 0..1")
    return float(value)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def check_status(status: int, operations: Iterable[Operation]) -> None:
    """A status may be forced if a gateway could send it or one of `operations` documents it."""
    documented = sorted({int(s) for op in operations for s in op.statuses if s.isdigit()})
    if status not in GATEWAY_STATUSES and status not in documented:
        allowed = ", ".join(str(s) for s in sorted({*documented, *GATEWAY_STATUSES}))
        raise ValueError(f"status {status} is neither documented here nor a gateway status; allowed: {allowed}")


def parse_rule(data: Any, source: Source, operations: Sequence[Operation]) -> FaultRule:
    """A rule from JSON (control plane, pytest marker) or a parsed --fault flag; ValueError names the field."""
    if not isinstance(data, Mapping):
        raise ValueError("a fault rule must be an object")
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown fault field(s) {', '.join(sorted(map(str, unknown)))}; known: {', '.join(RULE_FIELDS)}"
        )
    status = data.get("status")
    transport = data.get("fault")
    if (status is None) == (transport is None):
        raise ValueError('a fault rule needs exactly one of "status" and "fault"')
    api = None if data.get("api") is None else _text("api", data["api"])
    served = sorted({op.api for op in operations})
    if api is not None and api not in served:
        raise ValueError(f"api {shorten(api, 60)!r} is not served; served: {', '.join(served)}")
    operation = None if data.get("operation") is None else _text("operation", data["operation"])
    # Both APIs have e.g. a getConversation: an operationId alone scopes a rule to it in each,
    # "api" to one of them.
    scoped = [
        op
        for op in operations
        if (api is None or op.api == api) and (operation is None or op.operation_id == operation)
    ]
    if not scoped:
        known = ", ".join(sorted({op.operation_id for op in operations if api is None or op.api == api}))
        raise ValueError(f"operation {shorten(str(operation), 60)!r} is not served; known: {known}")
    if status is not None:
        check_status(integer_within("status", status, 100, 599), scoped)
    if transport is not None and transport not in TRANSPORT_FAULTS:
        raise ValueError(f"fault must be one of {', '.join(TRANSPORT_FAULTS)}")
    fault = Fault(
        source=source,
        status=status,
        transport=transport,
        retry_after=integer_within("retry_after", data.get("retry_after", DEFAULT_RETRY_AFTER), 0, MAX_RETRY_AFTER),
        body_ms=integer_within("body_ms", data.get("body_ms", DEFAULT_BODY_MS), 0, MAX_DELAY_MS),
    )
    times = data.get("times")
    return FaultRule(
        fault=fault,
        api=api,
        operation=operation,
        tenant=None if data.get("tenant") is None else _text("tenant", data["tenant"]),
        rate=fraction("rate", data.get("rate", 1)),
        times=None if times is None else integer_within("times", times, 1, 1_000_000),
    )


def parse_flag(text: str) -> dict[str, Any]:
    """`status=429,times=2,operation=createConversation` (a --fault flag) → a rule's JSON."""
    data: dict[str, Any] = {}
    for part in text.split(","):
        name, eq, raw = part.strip().partition("=")
        if not eq or not name:
            raise ValueError(f"expected NAME=VALUE pairs separated by commas, got {shorten(part.strip(), 40)!r}")
        data[name.strip().replace("-", "_")] = flag_value(raw.strip())
    return data


def flag_value(text: str) -> Any:
    """A flag's text as the JSON value `PUT /__mock__/chaos` would carry: `5`, `0.5`, `true` and
    `null` by JSON's grammar (ASCII digits only), so that the same checks refuse the same values;
    anything else stays text (and is refused as text where a number is wanted)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if value is None or isinstance(value, bool | int | float) else text


class Rules:
    """The active rules, first match wins; a rule used up by `times` is dropped."""

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self.rules = list(rules)

    def pick(self, operation: Operation, tenant: str | None, roll: random.Random) -> Fault | None:
        for rule in self.rules:
            if rule.api is not None and rule.api != operation.api:
                continue
            if rule.operation is not None and rule.operation != operation.operation_id:
                continue
            if rule.tenant is not None and rule.tenant != tenant:
                continue
            status = rule.fault.status
            if status is not None and status not in GATEWAY_STATUSES and str(status) not in operation.statuses:
                continue  # a documented status of some other operation: not this one's to send
            if rule.rate < 1 and roll.random() >= rule.rate:
                continue
            rule.used += 1
            if rule.times is not None and rule.used >= rule.times:
                self.rules.remove(rule)
            return rule.fault
        return None

    def needs_tenant(self) -> bool:
        return any(rule.tenant is not None for rule in self.rules)


async def _let_server_notice() -> None:
    # The loop reports the closed connection to uvicorn on its next turns; returning before
    # that makes uvicorn log "ASGI callable returned without ... response" as an error.
    for _ in range(3):
        await asyncio.sleep(0)


async def deliver(fault: Fault, response: Response, scope: Scope, send: Send) -> None:
    """Send `response` broken as `fault` says, through the connection the server protocol put
    in the scope; the journal reads what was done from the request's info."""
    RequestInfo.of(scope).fault = f"fault={fault.transport} by {fault.source.value}"
    body = bytes(response.body)
    start = {"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers}
    start["headers"] = [*response.raw_headers, (FORCED_HEADER.lower().encode(), fault.source.value.encode())]
    if fault.transport in ("reset", "truncate"):
        broken = connection(scope)
        if broken is None:
            raise RuntimeError(f"fault={fault.transport} needs the mock's own server protocol (mockserver.protocol)")
        if fault.transport == "reset":
            broken.reset()
        else:
            await send(start)
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            broken.hang_up()
        await _let_server_notice()
        return
    # slow-body: the whole body, in up to 10 pieces spread over body_ms.
    await send(start)
    pieces = max(min(len(body), 10), 1)
    step = -(-len(body) // pieces) or 1
    for index in range(pieces):
        await asyncio.sleep(fault.body_ms / 1000 / pieces)
        chunk = body[index * step : (index + 1) * step]
        await send({"type": "http.response.body", "body": chunk, "more_body": index < pieces - 1})
