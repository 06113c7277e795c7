"""Values derived from a schema: valid ones, ones at and past its limits, wrong types."""

from __future__ import annotations

from typing import Any

# A character outside the Basic Multilingual Plane: 1 code point, 4 UTF-8 bytes, 2 UTF-16
# units. A server that counts either instead of characters gets the limit wrong.
WIDE = "😀"


def types_of(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return set()
    return set(kind) if isinstance(kind, list) else {kind}


def valid_value(schema: dict[str, Any], tag: str = "convo-contracts") -> Any:
    """A plain value the schema accepts."""
    if "enum" in schema:
        return schema["enum"][0]
    kinds = types_of(schema) - {"null"}
    kind = next(iter(sorted(kinds)), "string")
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", 10_000)
        text = tag[: max(high, 0)]
        return text.ljust(low, "x")
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [{"id": "msg_1", "role": "user", "content": tag}]
    return {"source": tag}


def wrong_type_value(schema: dict[str, Any]) -> Any | None:
    """A value of a JSON type the schema does not allow, or None if every type is allowed."""
    kinds = types_of(schema)
    for kind, value in (("integer", 12345), ("string", "not-an-object"), ("object", {"a": 1}), ("array", [1])):
        allowed = kinds | ({"integer"} if "number" in kinds else set())
        if kinds and kind not in allowed and not (kind == "integer" and "number" in kinds):
            return value
    return None


def nullable(schema: dict[str, Any]) -> bool:
    return not types_of(schema) or "null" in types_of(schema)
