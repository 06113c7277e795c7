"""Request validation against the spec, on the hot path.

openapi-core walks the spec and rebuilds its validators on every call (~1-3 ms a request);
here each operation's parameter and body schemas are compiled once, at start-up, into
jsonschema-rs validators (under 1 µs a call). openapi-core remains the reference: the tests
check with Hypothesis that both accept and reject the same requests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from specs import Operation
from specs.integers import ascii_int
from specs.text import shorten

from .errors import ApiError


@dataclass(frozen=True)
class _Parameter:
    name: str
    location: str  # path | query
    required: bool
    schema: dict[str, Any]
    validator: Any

    def coerce(self, raw: str) -> Any:
        """Turn the raw text into the JSON value the schema describes (OpenAPI `style: form`)."""
        # Cast as openapi-core (the reference) does, so that both accept the same texts.
        kind = self.schema.get("type")
        if kind == "integer":
            # Stricter than openapi-core (int(), which reads "２０", " 7" and "2_0"): ASCII only.
            number = ascii_int(raw, signed=True)
            return raw if number is None else number
        try:
            if kind == "number":
                return float(raw)
        except ValueError:
            return raw
        if kind == "boolean" and raw in ("true", "false"):
            return raw == "true"
        return raw


class OperationValidator:
    """The compiled validators of one operation."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self._params = tuple(
            _Parameter(p["name"], p["in"], bool(p.get("required")), p["schema"], _compile(p["schema"]))
            for p in operation.parameters
            if p["in"] in ("path", "query")
        )
        schema = operation.request_schema()
        self._body = _compile(schema) if schema is not None else None
        self.body_required = bool(operation.request_body and operation.request_body.get("required"))
        self.takes_query = any(p.location == "query" for p in self._params)
        self.takes_body = self._body is not None

    def parameters(self, path: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any]:
        """Validated and typed parameters; absent optional ones take the spec's default, if any."""
        values: dict[str, Any] = {}
        for param in self._params:
            raw = (path if param.location == "path" else query).get(param.name)
            if raw is None:
                if param.required:
                    raise ApiError(400, f"{param.location} parameter '{param.name}' is required")
                if "default" in param.schema:
                    values[param.name] = param.schema["default"]
                continue
            value = param.coerce(raw)
            if not param.validator.is_valid(value):  # the common case, answered without an error object
                error = next(param.validator.iter_errors(value))
                raise ApiError(400, f"{param.location} parameter '{param.name}' {_describe(error)}")
            values[param.name] = value
        return values

    def parameter_problems(self, path: Mapping[str, str], query: Mapping[str, str]) -> Iterator[Problem]:
        """Every broken rule of the path and query parameters, as data (the proxy's view:
        it reports all of them rather than answering the first)."""
        for param in self._params:
            raw = (path if param.location == "path" else query).get(param.name)
            if raw is None:
                if param.required:
                    where = f"{param.location} parameter '{param.name}'"
                    yield Problem(where, param.name, ("required",), "required", f"{where} is required", None)
                continue
            value = param.coerce(raw)
            if param.validator.is_valid(value):  # the common case, answered without an error object
                continue
            where = f"{param.location} parameter '{param.name}'"
            for error in param.validator.iter_errors(value):
                yield _problem(where, param.name, error)

    def body_problems(self, body: Any) -> Iterator[Problem]:
        if self._body is not None:
            yield from _problems(self._body, body, "request body", "body field")

    def body(self, body: Any) -> None:
        if self._body is None or self._body.is_valid(body):
            return
        error = next(self._body.iter_errors(body), None)
        if error is not None:
            path = json_path(error.instance_path).lstrip(".")
            location = f"body field '{path}'" if path else "request body"
            raise ApiError(400, f"{location} {_describe(error)}")


class ResponseValidator:
    """The compiled response-body validators of one operation, one per documented status."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self._bodies: dict[str, Any] = {}
        for status in operation.statuses:
            schema = operation.response_schema(status)
            self._bodies[status] = _compile(schema) if schema is not None else None

    def valid(self, status: str, body: Any) -> bool:
        """Whether `body` conforms (or `status` documents no body schema): the common case,
        answered without an error object."""
        validator = self._bodies.get(status)
        return validator is None or bool(validator.is_valid(body))

    def body_problems(self, status: str, body: Any) -> Iterator[Problem]:
        validator = self._bodies.get(status)
        if validator is not None:
            yield from _problems(validator, body, "response body", "response field")


@dataclass(frozen=True)
class Problem:
    """One broken rule, as data: what the proxy records as a violation."""

    where: str  # for people: "body field 'title'", "query parameter 'limit'"
    parameter: str | None  # the parameter's name, for a parameter problem
    schema_path: tuple[str | int, ...]  # within the schema that was checked
    rule: str  # the JSON Schema keyword broken, e.g. maxLength
    message: str
    value: Any


def _problems(validator: Any, value: Any, whole: str, field: str) -> Iterator[Problem]:
    if validator.is_valid(value):  # the common case, answered without building an error iterator
        return
    for error in validator.iter_errors(value):
        path = json_path(error.instance_path).lstrip(".")
        yield _problem(f"{field} '{path}'" if path else whole, None, error)


def _problem(where: str, parameter: str | None, error: Any) -> Problem:
    kind = type(error.kind).__name__
    rule = kind[:1].lower() + kind[1:]
    return Problem(where, parameter, tuple(error.schema_path), rule, f"{where} {_describe(error)}", error.instance)


def json_path(parts: list[str | int]) -> str:
    """`["messages", 0, "id"]` → `.messages[0].id`, for messages that name the field."""
    return "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in parts)


def _compile(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _describe(error: Any) -> str:
    """The broken rule in a few words, never echoing a (possibly huge) value."""
    kind = error.kind
    match type(kind).__name__:
        case "MaxLength":
            return f"must be at most {_plural(kind.limit, 'character')} long (got {len(error.instance)})"
        case "MinLength":
            return f"must be at least {_plural(kind.limit, 'character')} long (got {len(error.instance)})"
        case "Type":
            wanted = " or ".join(str(t).lower().removeprefix("jsontype.") for t in kind.types)
            return f"must be of type {wanted} (got {_json_type(error.instance)})"
        case "Enum":
            allowed = ", ".join(repr(v) for v in kind.options)
            return f"must be one of {allowed}"
        case "Minimum":
            return f"must be >= {kind.limit}"
        case "Maximum":
            return f"must be <= {kind.limit}"
        case "Format":
            return f"must be a valid {kind.format}"
        case "Required":
            return f"is missing the required field {kind.property!r}"
    return shorten(str(error.message), 201)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
