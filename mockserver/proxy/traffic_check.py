"""The proxy's checks of real traffic against the spec: small named functions in two registries.

Each check looks at one exchange and returns `Finding`s: the rule, where the spec writes it,
the offending value. They use the same validators the mock compiles from the spec
(validation.py), compiled once per operation × status. Credentials are not checked here: a
request without a key is how a client tests the service's 401, which the spec documents.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from specs import Operation

from ..api.validation import OperationValidator, ResponseValidator
from .exchange import Exchange, Finding
from .violations import in_spec, operation_parts, parameter_parts


class OperationChecks:
    """Everything compiled once for one operation."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self.api = operation.api
        self.parts = operation_parts(operation)
        self.request = OperationValidator(operation)
        self.response = ResponseValidator(operation)
        self.responses: dict[str, Any] = operation.definition.get("responses", {})
        # Per documented response: its content types, and whether its JSON body's shape is one
        # the documentation leaves open (an `x-rule` on the schema, rule 6).
        self.content: dict[str, dict[str, Any]] = {k: r.get("content", {}) for k, r in self.responses.items()}
        self.open_shape = {
            k: "x-rule" in c["application/json"].get("schema", {})
            for k, c in self.content.items()
            if "application/json" in c
        }
        # Per documented response: the headers it requires, (name, lower-case name).
        self.required_headers = {
            k: [(name, name.lower()) for name, h in r.get("headers", {}).items() if h.get("required")]
            for k, r in self.responses.items()
        }
        self._keys: dict[int, str | None] = {}

    def response_key(self, status: int) -> str | None:
        """The `responses` entry that documents `status` (exact, then `2XX`, then `default`)."""
        try:
            return self._keys[status]
        except KeyError:
            pass
        found = next((k for k in (str(status), f"{status // 100}XX", "default") if k in self.responses), None)
        self._keys[status] = found  # at most 500 statuses (100-599)
        return found

    def run_request(self, exchange: Exchange) -> list[Finding]:
        return _run(REQUEST_CHECKS, self, exchange)

    def run_response(self, exchange: Exchange) -> list[Finding]:
        return _run(RESPONSE_CHECKS, self, exchange)


def _run(checks: tuple[Check, ...], ops: OperationChecks, exchange: Exchange) -> list[Finding]:
    found: list[Finding] = []
    for check in checks:
        some = check(ops, exchange)
        if some:
            found += some
    return found


def media_type(headers: Mapping[str, str] | None) -> str | None:
    value = (headers or {}).get("content-type")
    return _media(value) if value else None


@functools.lru_cache(maxsize=256)  # a server sends few distinct values: each parsed once
def _media(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _json(data: bytes) -> tuple[bool, Any]:
    try:
        return True, orjson.loads(data)
    except orjson.JSONDecodeError:
        return False, None


# --- request checks ------------------------------------------------------------------------
# Each check returns what it found, `NONE` when nothing: plain calls, since nearly every
# exchange passes every check (a generator per check cost more than most checks' work).

NONE: tuple[Finding, ...] = ()


def request_parameters(ops: OperationChecks, ex: Exchange) -> Sequence[Finding]:
    query = ex.query if ops.request.takes_query else {}
    found = []
    for problem in ops.request.parameter_problems(ex.path_params, query):
        assert problem.parameter is not None
        base = parameter_parts(ops.api, ops.operation.path, ops.operation.method.lower(), problem.parameter)
        schema_path = problem.schema_path if problem.rule == "required" else ("schema", *problem.schema_path)
        found.append(Finding(problem.rule, in_spec(ops.api, base, schema_path), problem.message, problem.value))
    return found


def request_content_type(ops: OperationChecks, ex: Exchange) -> Sequence[Finding]:
    declared = (ops.operation.request_body or {}).get("content", {})
    if not declared or not ex.body:
        return NONE
    sent = media_type(ex.headers)
    if sent in declared:
        return NONE
    return [
        Finding(
            "contentType",
            in_spec(ops.api, (*ops.parts, "requestBody", "content")),
            f"request content type {sent or '(none)'} is not one the spec declares ({', '.join(declared)})",
            sent,
        )
    ]


def request_body(ops: OperationChecks, ex: Exchange) -> Sequence[Finding]:
    if not ops.request.takes_body or ex.body is None:
        return NONE
    if not ex.body:
        if not ops.request.body_required:
            return NONE
        where = in_spec(ops.api, (*ops.parts, "requestBody", "required"))
        return [Finding("required", where, "the request body is required", None)]
    if media_type(ex.headers) != "application/json":
        return NONE  # request_content_type reports it
    parsed, body = _json(ex.body)
    if not parsed:
        return [Finding("json", in_spec(ops.api, (*ops.parts, "requestBody")), "request body is not valid JSON", None)]
    ex.request_json = body  # parsed once: the behaviour monitor reads it too
    base = (*ops.parts, "requestBody", "content", "application/json", "schema")
    return [
        Finding(problem.rule, in_spec(ops.api, base, problem.schema_path), problem.message, problem.value)
        for problem in ops.request.body_problems(body)
    ]


Check = Callable[[OperationChecks, Exchange], Sequence[Finding]]
REQUEST_CHECKS: tuple[Check, ...] = (
    request_parameters,
    request_content_type,
    request_body,
)


# --- response checks -----------------------------------------------------------------------


def response_status(ops: OperationChecks, ex: Exchange) -> Sequence[Finding]:
    if ops.response_key(ex.status) is not None:
        return NONE
    return [
        Finding(
            "status",
            in_spec(ops.api, (*ops.parts, "responses")),
            f"status {ex.status} is not documented for {ops.operation.operation_id} "
            f"(documented: {', '.join(ops.responses)})",
            ex.status,
        )
    ]


def response_content_type(ops: OperationChecks, ex: Exchange) -> Sequence[Finding]:
    key = ops.response_key(ex.status)
    if key is None:
        return NONE
    declared = ops.content[key]
    sent = media_type(ex.response_headers)
    if not declared:
        if not ex.response_body:
            return NONE
        where = in_spec(ops.api, (*ops.parts, "responses", key))
        return [Finding("contentType", where, f"status {ex.status} is documented without a body", sent)]
    if sent in declared:
        return NONE
    return [
        Finding(
            "contentType",
            in_spec(ops.api, (*ops.parts, "responses", key, "content")),
            f"response content type {sent or '(none)'} is not one the spec declares for {key} ({', '.join(declared)})",
            sent,
        )
    ]


def response_body(ops: OperationChecks, ex: Exchange) -> Sequence[Finding]:
    key = ops.response_key(ex.status)
    if key is None or ex.response_body is None or media_type(ex.response_headers) != "application/json":
        return NONE
    if key not in ops.open_shape:
        return NONE  # no JSON body documented
    parsed, body = _json(ex.response_body)
    if not parsed:
        where = in_spec(ops.api, (*ops.parts, "responses", key, "content"))
        return [Finding("json", where, "response body is not valid JSON", None)]
    ex.response_json = body  # parsed once: the behaviour monitor reads it too
    if ops.open_shape[key]:
        # A body whose shape the documentation leaves open (the error object, rule 6): JSON is
        # all it owes; another shape is the server's choice, not a violation.
        return NONE
    if ops.response.valid(key, body):
        return NONE
    base = (*ops.parts, "responses", key, "content", "application/json", "schema")
    return [
        Finding(problem.rule, in_spec(ops.api, base, problem.schema_path), problem.message, problem.value)
        for problem in ops.response.body_problems(key, body)
    ]


def response_headers(ops: OperationChecks, ex: Exchange) -> Sequence[Finding]:
    key = ops.response_key(ex.status)
    if key is None or not ops.required_headers[key]:
        return NONE
    return [
        Finding(
            "required",
            in_spec(ops.api, (*ops.parts, "responses", key, "headers", name, "required")),
            f"the required response header {name} is missing",
            None,
        )
        for name, lower in ops.required_headers[key]
        if lower not in (ex.response_headers or {})
    ]


RESPONSE_CHECKS: tuple[Check, ...] = (
    response_status,
    response_content_type,
    response_body,
    response_headers,
)
