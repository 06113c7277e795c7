"""Spec coverage: which documented facts a run actually exercised, computed from the specs
and the run's `Sample`s (one per exchange, from our families and from Schemathesis).

Three kinds of item per operation, each covered or not:

- status: a documented response status. Covered when a sample of the operation received it.
- constraint: one constraint of one request-body field or query/path parameter. Covered
  ("exercised") when a sample of the operation *sent* a value that hits it and *received a
  response* (any status: whether the answer was right is the checks' business, not
  coverage's). What hits each constraint is spelled out in `_hits`: a string of exactly
  maxLength characters ("at") and a longer one ("past"); exactly minLength and a shorter one;
  each enum member and a value outside the enum; a value of a JSON type the schema does not
  declare (for a query or path parameter: text that does not parse as the declared type);
  `null`; the field left out when it is required; a value that matches the format and one
  that does not; a number equal to minimum/maximum and one beyond it.
- response field: a property the spec documents in a JSON response of the operation,
  nested names joined by `.`, array items marked `[]`. Covered ("checked") when a received
  response of a documented status whose schema declares the field contains it (every such
  response is validated against the spec by the suite).

Statuses a response carried that the operation does not document are listed apart, with a
command that reproduces one. The number per API and overall is items covered / items
documented. An item not covered carries a reason derived from the run's settings (`Scope`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import specs
from specs import Operation

from .samples import Sample
from .target import Target
from .values import nullable, types_of

SCHEMA_VERSION = 1


class Kind(StrEnum):
    STATUS = "status"
    CONSTRAINT = "constraint"
    RESPONSE_FIELD = "response field"


@dataclass(frozen=True)
class Scope:
    """What the run was allowed and asked to do: the source of every "why not covered"."""

    apis: tuple[str, ...]
    families: tuple[str, ...]
    read_only: bool = False
    has_other_key: bool = False
    has_readonly_key: bool = False
    operations: frozenset[str] | None = None  # operationIds to count; None: all of them

    @classmethod
    def of(cls, target: Target, apis: Sequence[str], families: Sequence[str]) -> Scope:
        """The scope of a run against `target`."""
        return cls(
            apis=tuple(apis),
            families=tuple(families),
            read_only=bool(target.read_only),
            has_other_key=bool(target.other_key),
            has_readonly_key=bool(target.readonly_key),
        )


@dataclass(frozen=True)
class Item:
    api: str
    operation_id: str
    kind: Kind
    subject: str  # "404", "title" (body), "limit" (query), "pagination.nextCursor"
    detail: str  # what had to happen, e.g. "maxLength 500: one past the limit"
    covered: bool
    count: int = 0  # samples that covered it
    reason: str | None = None  # why it was not covered
    location: str = ""  # constraints: "body", "query" or "path"
    # False: no run of this suite, whatever its settings, can make the server produce it
    # (a documented 500, a sibling 2xx the server chose); `reason` says why.
    provokable: bool = True


@dataclass(frozen=True)
class Undocumented:
    api: str
    operation_id: str
    method: str
    path: str  # the spec's path template
    status: int
    count: int
    curl: str | None


@dataclass
class OperationCoverage:
    api: str
    operation_id: str
    method: str
    path: str
    pointer: str
    items: list[Item] = field(default_factory=list)
    samples: int = 0

    def of_kind(self, kind: Kind) -> list[Item]:
        return [i for i in self.items if i.kind is kind]

    @property
    def covered(self) -> int:
        return sum(i.covered for i in self.items)

    @property
    def documented(self) -> int:
        return len(self.items)


@dataclass
class ApiCoverage:
    api: str
    operations: list[OperationCoverage] = field(default_factory=list)
    undocumented: list[Undocumented] = field(default_factory=list)

    @property
    def covered(self) -> int:
        return sum(o.covered for o in self.operations)

    @property
    def documented(self) -> int:
        return sum(o.documented for o in self.operations)

    @property
    def percent(self) -> float:
        return percent(self.covered, self.documented)


@dataclass
class Coverage:
    scope: Scope
    apis: list[ApiCoverage] = field(default_factory=list)

    @property
    def covered(self) -> int:
        return sum(a.covered for a in self.apis)

    @property
    def documented(self) -> int:
        return sum(a.documented for a in self.apis)

    @property
    def percent(self) -> float:
        return percent(self.covered, self.documented)

    @property
    def items(self) -> list[Item]:
        return [i for a in self.apis for o in a.operations for i in o.items]

    @property
    def not_covered(self) -> list[Item]:
        return [i for i in self.items if not i.covered]

    @property
    def undocumented(self) -> list[Undocumented]:
        return [u for a in self.apis for u in a.undocumented]

    def below(self, threshold: float) -> bool:
        """Whether the overall figure is under `threshold` percent (the --fail-under gate)."""
        return self.percent < threshold


def percent(covered: int, documented: int) -> float:
    # Nothing documented leaves nothing uncovered.
    return 100.0 if documented == 0 else 100.0 * covered / documented


def compute(samples: Iterable[Sample], scope: Scope) -> Coverage:
    by_operation: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        by_operation.setdefault((sample.api, sample.operation_id), []).append(sample)
    coverage = Coverage(scope)
    for api in scope.apis:
        api_coverage = ApiCoverage(api)
        for op in specs.load(api).operations:
            if scope.operations is not None and op.operation_id not in scope.operations:
                continue
            seen = by_operation.get((api, op.operation_id), [])
            api_coverage.operations.append(_operation(op, seen, scope))
            api_coverage.undocumented += _undocumented(op, seen)
        coverage.apis.append(api_coverage)
    return coverage


def _operation(op: Operation, seen: list[Sample], scope: Scope) -> OperationCoverage:
    answered = [s for s in seen if s.status is not None]
    result = OperationCoverage(op.api, op.operation_id, op.method, op.path, op.pointer, samples=len(seen))
    statuses = [s.status for s in answered]
    for status in op.statuses:
        count = sum(str(s) == status for s in statuses)
        reason, provokable = (None, True) if count else _status_reason(op, status, statuses, scope)
        result.items.append(
            Item(
                op.api,
                op.operation_id,
                Kind.STATUS,
                status,
                f"a {status} response",
                count > 0,
                count,
                reason,
                provokable=provokable,
            )
        )
    for location, name, detail, hit in constraints(op):
        count = sum(hit(sample) for sample in answered)
        reason = None if count else _constraint_reason(op, location, scope, bool(answered))
        result.items.append(
            Item(op.api, op.operation_id, Kind.CONSTRAINT, name, detail, count > 0, count, reason, location)
        )
    for name, in_statuses in response_fields(op).items():
        count = sum(str(s.status) in in_statuses and _has_field(s.response, name.split(".")) for s in answered)
        reason = None if count else _field_reason(in_statuses, statuses, scope, op)
        detail = f"present in a {' or '.join(in_statuses)} response"
        result.items.append(Item(op.api, op.operation_id, Kind.RESPONSE_FIELD, name, detail, count > 0, count, reason))
    return result


def _undocumented(op: Operation, seen: list[Sample]) -> list[Undocumented]:
    found: dict[int, list[Sample]] = {}
    for sample in seen:
        if sample.status is not None and str(sample.status) not in op.statuses:
            found.setdefault(sample.status, []).append(sample)
    return [
        Undocumented(
            op.api,
            op.operation_id,
            op.method,
            op.path,
            status,
            len(group),
            # The shortest command is the easiest to read and paste.
            min((s.curl for s in group if s.curl), key=len, default=None),
        )
        for status, group in sorted(found.items())
    ]


# --- constraints -------------------------------------------------------------------------

Hit = Callable[[Sample], bool]


def constraints(op: Operation) -> list[tuple[str, str, str, Hit]]:
    """Every constraint of the operation's request: (location, field, detail, hit(sample))."""
    found: list[tuple[str, str, str, Hit]] = []
    schema = op.request_schema()
    if schema is not None:
        if "type" in schema:
            found.append(
                ("body", "(body)", f"type {_type_text(schema)}: a body of another type", _body_wrong_type(schema))
            )
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            for detail, test in _hits(prop, name in required, textual=False):
                found.append(("body", name, detail, _body_hit(name, test)))
    for param in op.parameters:
        where = param["in"]
        if where not in ("query", "path"):
            continue
        name = param["name"]
        for detail, test in _hits(param.get("schema", {}), bool(param.get("required")) and where == "query", True):
            found.append((where, name, detail, _param_hit(op, where, name, test)))
    return found


_MISSING = object()


def _hits(schema: dict[str, Any], required: bool, textual: bool) -> Iterator[tuple[str, Any]]:
    """(detail, test(value)) per constraint of one field; `value` is `_MISSING` when absent.

    `textual`: the value travels as text (query, path), so types are judged by parsing it and
    `null` cannot be sent.
    """
    kinds = types_of(schema) - {"null"}
    if required:
        yield "required: left out", lambda v: v is _MISSING
    if kinds and not (textual and kinds == {"string"}):
        yield (
            f"type {_type_text(schema)}: a value of another type",
            lambda v: _present(v) and v is not None and not _is_type(v, schema, textual),
        )
    if kinds and not textual:
        label = "null: sent (nullable)" if nullable(schema) else "null: sent (not nullable)"
        yield label, lambda v: v is None
    if "maxLength" in schema:
        high = schema["maxLength"]
        yield f"maxLength {high}: at the limit", lambda v: isinstance(v, str) and len(v) == high
        yield f"maxLength {high}: past the limit", lambda v: isinstance(v, str) and len(v) > high
    if schema.get("minLength"):
        low = schema["minLength"]
        yield f"minLength {low}: at the limit", lambda v: isinstance(v, str) and len(v) == low
        yield f"minLength {low}: below the limit", lambda v: isinstance(v, str) and len(v) < low
    if "enum" in schema:
        members = schema["enum"]
        for member in members:
            yield f"enum: {member}", lambda v, m=member: _present(v) and _same(v, m, textual)
        yield (
            "enum: a value outside it",
            lambda v: _present(v) and v is not None and not any(_same(v, m, textual) for m in members),
        )
    if schema.get("format") in _FORMATS:
        fmt = schema["format"]
        check = _FORMATS[fmt]
        yield f"format {fmt}: a matching value", lambda v: isinstance(v, str) and check(v)
        yield f"format {fmt}: a value that does not match", lambda v: isinstance(v, str) and not check(v)
    for keyword, beyond, word in (("minimum", -1, "below"), ("maximum", 1, "above")):
        if keyword in schema:
            bound = schema[keyword]
            yield (
                f"{keyword} {bound}: at the bound",
                lambda v, b=bound: (n := _number(v, textual)) is not None and n == b,
            )
            yield (
                f"{keyword} {bound}: {word} it",
                lambda v, b=bound, d=beyond: (n := _number(v, textual)) is not None and (n - b) * d > 0,
            )


def _present(value: Any) -> bool:
    return value is not _MISSING


def _body_hit(name: str, test: Any) -> Hit:
    def hit(sample: Sample) -> bool:
        if not isinstance(sample.body, dict):
            return False
        return bool(test(sample.body.get(name, _MISSING)))

    return hit


def _body_wrong_type(schema: dict[str, Any]) -> Hit:
    def hit(sample: Sample) -> bool:
        return sample.body is not None and not _is_type(sample.body, schema, False)

    return hit


def _param_hit(op: Operation, where: str, name: str, test: Any) -> Hit:
    pattern = _path_pattern(op.path) if where == "path" else None

    def hit(sample: Sample) -> bool:
        if pattern is None:
            return bool(test(sample.query.get(name, _MISSING)))
        match = pattern.fullmatch(sample.path)
        return match is not None and bool(test(match.group(name)))

    return hit


def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^}]+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]*)" for i, p in enumerate(parts))
    # Anything before the template: the base URL may carry a path prefix of its own.
    return re.compile(".*?" + regex)


def _type_text(schema: dict[str, Any]) -> str:
    return "|".join(sorted(types_of(schema)))


def _is_type(value: Any, schema: dict[str, Any], textual: bool) -> bool:
    kinds = types_of(schema)
    if textual:
        return any(_parses_as(str(value), kind) for kind in kinds)
    return any(_json_type(value, kind) for kind in kinds)


def _json_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def _parses_as(text: str, kind: str) -> bool:
    if kind == "string":
        return True
    if kind == "integer":
        return re.fullmatch(r"-?\d+", text.strip()) is not None
    if kind == "number":
        try:
            float(text)
        except ValueError:
            return False
        return True
    if kind == "boolean":
        return text in ("true", "false")
    return False


def _number(value: Any, textual: bool) -> float | None:
    if textual and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _same(value: Any, member: Any, textual: bool) -> bool:
    return str(value) == str(member) if textual else bool(value == member and type(value) is type(member))


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


def _is_date_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in text or " " in text


_FORMATS = {"uuid": _is_uuid, "date-time": _is_date_time}


# --- response fields ----------------------------------------------------------------------


def response_fields(op: Operation) -> dict[str, list[str]]:
    """Every field documented in the operation's JSON responses → the statuses that declare it."""
    fields: dict[str, list[str]] = {}
    for status in op.statuses:
        schema = op.response_schema(status)
        if not schema:
            continue
        for name in _walk(schema, ""):
            fields.setdefault(name, []).append(status)
    return fields


def _walk(schema: dict[str, Any], prefix: str) -> Iterator[str]:
    if isinstance(schema.get("items"), dict):
        yield from _walk(schema["items"], prefix + "[]")
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        if isinstance(prop, dict):
            yield from _walk(prop, path)


def _has_field(value: Any, parts: list[str]) -> bool:
    """Whether `value` holds the field named by `parts` (array steps end in `[]`)."""
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    name, is_array = (head[:-2], True) if head.endswith("[]") else (head, False)
    if name:
        if not isinstance(value, dict) or name not in value:
            return False
        value = value[name]
    if is_array:
        return isinstance(value, list) and any(_has_field(element, rest) for element in value)
    return _has_field(value, rest)


# --- reasons ------------------------------------------------------------------------------


def _families_text(scope: Scope) -> str:
    return ", ".join(scope.families) or "none"


def _write_reason(op: Operation, scope: Scope) -> str | None:
    if scope.read_only and op.method not in ("GET", "HEAD"):
        if op.method == "DELETE":
            return "no conversation to delete in --read-only"
        return f"--read-only: no {op.method} is sent"
    return None


def _status_reason(op: Operation, status: str, seen: list[int | None], scope: Scope) -> tuple[str, bool]:
    """Why the status was not seen, and whether any run of the suite could provoke it."""
    written = _write_reason(op, scope)
    if written:
        return written, True
    if status == "403":
        if not scope.has_readonly_key:
            return "403 needs --readonly-key", True
        if "auth" not in scope.families:
            return "403 is provoked by the auth family, which was not run", True
        if op.method in ("GET", "HEAD"):
            return "a read-only key may read: only its writes are provoked to 403", False
    if status == "401" and "auth" not in scope.families:
        return "401 is provoked by the auth family, which was not run", True
    if status == "500":
        return "a 500 is documented but never provoked on purpose", False
    if status.startswith("2"):
        others = sorted({str(s) for s in seen if str(s).startswith("2") and str(s) in op.statuses})
        if others:
            return f"the server answered {' and '.join(others)} instead (each is documented)", False
    if not seen:
        return f"no request reached this operation (families run: {_families_text(scope)})", True
    return f"no request of this run provoked it (families run: {_families_text(scope)})", True


def _constraint_reason(op: Operation, location: str, scope: Scope, reached: bool) -> str:
    written = _write_reason(op, scope)
    if written:
        return written
    if "boundaries" not in scope.families and "schemathesis" not in scope.families:
        return "constraints are exercised by the boundaries and schemathesis families, neither was run"
    if not reached:
        return f"no request reached this operation (families run: {_families_text(scope)})"
    return f"no request of this run sent such a {location} value"


def _field_reason(in_statuses: list[str], seen: list[int | None], scope: Scope, op: Operation) -> str:
    written = _write_reason(op, scope)
    if written:
        return written
    if not any(str(s) in in_statuses for s in seen):
        return f"no {' or '.join(in_statuses)} response was received"
    return "no received response contained it (the field may be optional or its list empty)"


# --- JSON ---------------------------------------------------------------------------------


def coverage_dict(coverage: Coverage) -> dict[str, Any]:
    """The `coverage` block of the JSON report (schema in docs/suite.md, `version` bumps on change)."""
    return {
        "version": SCHEMA_VERSION,
        "covered": coverage.covered,
        "documented": coverage.documented,
        "percent": round(coverage.percent, 2),
        "scope": {
            "apis": list(coverage.scope.apis),
            "families": list(coverage.scope.families),
            "readOnly": coverage.scope.read_only,
            "otherKey": coverage.scope.has_other_key,
            "readonlyKey": coverage.scope.has_readonly_key,
        },
        "apis": [
            {
                "api": a.api,
                "covered": a.covered,
                "documented": a.documented,
                "percent": round(a.percent, 2),
                "operations": [_operation_dict(o) for o in a.operations],
                "undocumentedStatuses": [_undocumented_dict(u) for u in a.undocumented],
            }
            for a in coverage.apis
        ],
    }


def _operation_dict(op: OperationCoverage) -> dict[str, Any]:
    return {
        "operationId": op.operation_id,
        "method": op.method,
        "path": op.path,
        "covered": op.covered,
        "documented": op.documented,
        "samples": op.samples,
        "items": [
            {
                "kind": i.kind.value,
                "subject": i.subject,
                "location": i.location or None,
                "detail": i.detail,
                "covered": i.covered,
                "count": i.count,
                "reason": i.reason,
                "provokable": i.provokable,
            }
            for i in op.items
        ],
    }


def _undocumented_dict(u: Undocumented) -> dict[str, Any]:
    return {
        "operationId": u.operation_id,
        "method": u.method,
        "path": u.path,
        "status": u.status,
        "count": u.count,
        "curl": u.curl,
    }


__all__ = [
    "SCHEMA_VERSION",
    "ApiCoverage",
    "Coverage",
    "Item",
    "Kind",
    "OperationCoverage",
    "Scope",
    "Undocumented",
    "compute",
    "constraints",
    "coverage_dict",
    "response_fields",
]
