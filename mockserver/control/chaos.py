"""Forced responses, injected latency and errors, and fault rules, for frontend work.

Per request, the `Prefer` header as Prism users know it (every Prefer header of the request
counts, RFC 7240): `code=404`, `delay=300` (ms), `fault=reset|truncate|slow-body`,
`retry-after=5`, `body-ms=3000`, `example=NAME` (the spec's named example). Globally,
`--latency MS`, `--error-rate P` with `--random-seed N` so that a chaotic run can be
replayed, and fault rules (`--fault`, `PUT /__mock__/chaos {"faults": [...]}`).

Settings are validated as a whole and applied atomically: a bad value changes nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from specs import Operation
from specs.integers import ascii_int
from specs.text import shorten

from ..api.errors import ApiError
from .faults import (
    DEFAULT_BODY_MS,
    DEFAULT_RETRY_AFTER,
    GATEWAY_STATUSES,
    MAX_DELAY_MS,
    MAX_RETRY_AFTER,
    TRANSPORT_FAULTS,
    Fault,
    FaultRule,
    Rules,
    Source,
    check_status,
    fraction,
    integer_within,
    parse_rule,
)

SETTINGS = ("latency_ms", "error_rate", "random_seed", "code", "faults", "source")
MAX_SEED = 2**64 - 1
MAX_RULES = 100


@dataclass(frozen=True)
class Preferences:
    """What a request's Prefer headers ask for."""

    code: int | None = None
    delay: int | None = None
    fault: str | None = None
    retry_after: int | None = None
    body_ms: int | None = None
    example: str | None = None
    dynamic: bool = False


def _bad(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_prefer")


def _number(name: str, raw: str, high: int) -> int:
    number = ascii_int(raw)
    if number is None or number > high:
        raise _bad(f"Prefer: {name}={shorten(raw, 20)!r} is not a whole number within 0..{high}")
    return number


NO_PREFERENCES = Preferences()


def parse_prefer(values: Iterable[str]) -> Preferences:
    """`code=404, delay=300` (from any number of Prefer headers) → Preferences.

    Unknown preferences are ignored, as RFC 7240 asks."""
    if not values:
        return NO_PREFERENCES
    found: dict[str, Any] = {}
    for value in values:
        for part in value.replace(";", ",").split(","):
            name, _, raw = part.strip().partition("=")
            name, raw = name.strip().lower(), raw.strip().strip('"')
            if name == "code":
                status = ascii_int(raw)
                if status is None or not 100 <= status <= 599:
                    raise _bad(f"Prefer: code={shorten(raw, 20)!r} is not an HTTP status")
                found["code"] = status
            elif name == "delay":
                found["delay"] = _number("delay", raw, MAX_DELAY_MS)
            elif name == "fault":
                if raw not in TRANSPORT_FAULTS:
                    raise _bad(f"Prefer: fault={shorten(raw, 20)!r} is not one of {', '.join(TRANSPORT_FAULTS)}")
                found["fault"] = raw
            elif name == "retry-after":
                found["retry_after"] = _number("retry-after", raw, MAX_RETRY_AFTER)
            elif name == "body-ms":
                found["body_ms"] = _number("body-ms", raw, MAX_DELAY_MS)
            elif name == "example":
                found["example"] = raw
            elif name == "dynamic":
                found["dynamic"] = raw.lower() in ("true", "1", "")
    return Preferences(**found)


@dataclass(frozen=True)
class Settings:
    latency_ms: int = 0
    error_rate: float = 0.0
    random_seed: int | None = None
    code: int | None = None  # forced on every request whose operation documents it
    source: Source = Source.CONTROL  # who set error_rate and code

    def as_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "random_seed": self.random_seed,
            "code": self.code,
            "source": self.source.value,
        }


class Chaos:
    def __init__(
        self,
        operations: Sequence[Operation],
        latency_ms: int = 0,
        error_rate: float = 0.0,
        random_seed: int | None = None,
        rules: Iterable[FaultRule] = (),
    ) -> None:
        self.operations = operations
        self.settings = Settings(source=Source.FLAG)
        self.rules = Rules(rules)
        # Start-up values pass the control plane's own checks: a MockConfig made in Python
        # (pytest plugin, background server) is held to them as much as the CLI's flags.
        self.update({"latency_ms": latency_ms, "error_rate": error_rate, "random_seed": random_seed}, Source.FLAG)

    def as_json(self) -> dict[str, Any]:
        return {**self.settings.as_json(), "faults": [rule.as_json() for rule in self.rules.rules]}

    @property
    def active(self) -> bool:
        """Whether any setting or rule may act on a request that carries no Prefer header:
        when none does, a request pays for this one check and nothing else of chaos."""
        settings = self.settings
        return bool(settings.latency_ms or settings.error_rate or settings.code is not None or self.rules.rules)

    def update(self, data: Any, source: Source = Source.CONTROL) -> None:
        """`PUT /__mock__/chaos` (and the pytest plugin, which names itself as `source`):
        fields absent keep their value; all are checked before any applies."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = set(data) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(SETTINGS)}")
        if "source" in data:
            if data["source"] not in (Source.CONTROL.value, Source.MARKER.value):
                raise ValueError(f"source must be {Source.CONTROL.value!r} or {Source.MARKER.value!r}")
            source = Source(data["source"])
        old = self.settings
        latency = integer_within("latency_ms", data.get("latency_ms", old.latency_ms), 0, MAX_DELAY_MS)
        rate = fraction("error_rate", data.get("error_rate", old.error_rate))
        seed = data.get("random_seed", old.random_seed)
        seed = None if seed is None else integer_within("random_seed", seed, 0, MAX_SEED)
        code = data.get("code", old.code)
        if code is not None:
            check_status(integer_within("code", code, 100, 599), self.operations)
        rules = self.rules.rules
        if "faults" in data:
            if not isinstance(data["faults"], list) or len(data["faults"]) > MAX_RULES:
                raise ValueError(f"faults must be a list of at most {MAX_RULES} rules")
            rules = []
            for index, item in enumerate(data["faults"]):
                try:
                    rules.append(parse_rule(item, source, self.operations))
                except ValueError as exc:
                    raise ValueError(f"faults[{index}]: {exc}") from None
        # Everything is valid: apply it all at once.
        self.settings = Settings(latency, rate, seed, code, source)
        self.rules = Rules(rules)
        if "random_seed" in data:
            self._random = random.Random(seed)

    def _forced(self, operation: Operation, prefer: Preferences, tenant: Callable[[], str | None]) -> Fault | None:
        if prefer.code is not None or prefer.fault is not None:
            if prefer.code is not None and prefer.fault is not None:
                raise _bad("Prefer: code= and fault= cannot be combined")
            if prefer.code is not None:
                documented = [int(s) for s in operation.statuses if s.isdigit()]
                if prefer.code not in documented and prefer.code not in GATEWAY_STATUSES:
                    allowed = ", ".join(str(s) for s in sorted({*documented, *GATEWAY_STATUSES}))
                    raise _bad(
                        f"Prefer: code={prefer.code} is neither documented for {operation.operation_id} "
                        f"nor a gateway status; allowed: {allowed}"
                    )
            return Fault(
                Source.HEADER,
                status=prefer.code,
                transport=prefer.fault,
                retry_after=DEFAULT_RETRY_AFTER if prefer.retry_after is None else prefer.retry_after,
                body_ms=DEFAULT_BODY_MS if prefer.body_ms is None else prefer.body_ms,
            )
        if self.rules.rules:
            fault = self.rules.pick(operation, tenant() if self.rules.needs_tenant() else None, self._random)
            if fault is not None:
                return fault
        code = self.settings.code
        if code is not None and (str(code) in operation.statuses or code in GATEWAY_STATUSES):
            return Fault(self.settings.source, status=code)
        return None

    async def before(self, operation: Operation, prefer: Preferences, tenant: Callable[[], str | None]) -> Fault | None:
        """Sleep as asked; raise a forced error status or an injected 500; return a fault to
        apply to the response (a forced success status, or a transport fault)."""
        if prefer.dynamic:
            raise _bad(
                "Prefer: dynamic=true is not supported: this mock is stateful, its answers come from "
                "its store (use Prefer: example=NAME for a spec example)"
            )
        fault = self._forced(operation, prefer, tenant)
        wait = self.settings.latency_ms + (prefer.delay or 0)
        if wait:
            await asyncio.sleep(min(wait, MAX_DELAY_MS) / 1000)
        if fault is not None and fault.status is not None and fault.status >= 400:
            raise ApiError(fault.status, fault.message(), code="forced", headers=fault.headers())
        if fault is None and self.settings.error_rate and self._random.random() < self.settings.error_rate:
            raise ApiError(
                500,
                f"injected by the error rate set by {self.settings.source.described}",
                code="injected",
                headers={"X-Mock-Forced": self.settings.source.value},
            )
        return fault


def example(operation: Operation, status: int, name: str) -> Any:
    """The spec's named example of `operation`'s `status` response; 400 listing the names."""
    response = operation.definition.get("responses", {}).get(str(status), {})
    examples = response.get("content", {}).get("application/json", {}).get("examples", {})
    if name not in examples:
        known = ", ".join(sorted(examples)) or "none"
        raise _bad(f"Prefer: example={shorten(name, 40)!r}: {operation.operation_id} {status} has examples: {known}")
    return examples[name].get("value")
