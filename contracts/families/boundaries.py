"""Boundaries: every constrained field of every request body and query, read from the spec.

At the limit accepted; one past rejected with 400; limits counted in characters (a string
of wide characters exactly at the limit is valid, one more is not); minimum lengths; wrong
types; null where not nullable; defaults applied when a field is omitted.
"""

from __future__ import annotations

from collections.abc import Iterator

from specs import Operation

from ..context import Context, body_json
from ..values import WIDE, nullable, wrong_type_value
from .fixtures import create_conversation, existing_systemprompt_id, item_path


def _body_targets(ctx: Context) -> Iterator[tuple[Operation, str | None]]:
    """Each body operation with the path to send it to (None: no resource to use)."""
    for op in ctx.operations(writes=True):
        if op.request_schema() is None:
            continue
        if "{" not in op.path:
            yield op, op.path
            continue
        if ctx.api == "runtype":
            created = create_conversation(ctx)
            yield op, item_path(ctx, op.operation_id, created["id"]) if created else None
        else:
            found = existing_systemprompt_id(ctx)
            yield op, item_path(ctx, op.operation_id, found) if found else None


def _pointer(op: Operation, field: str, keyword: str) -> str:
    return f"{op.pointer}/requestBody/content/application~1json/schema/properties/{field}/{keyword}"


def _rejected(op: Operation) -> list[str]:
    return [s for s in op.statuses if s == "400"] or [s for s in op.statuses if s.startswith("4")]


def _accepted(op: Operation) -> list[str]:
    return [s for s in op.statuses if s.startswith("2")]


def string_limits(ctx: Context) -> None:
    for op, path in _body_targets(ctx):
        properties = (op.request_schema() or {}).get("properties", {})
        limited = {n: s for n, s in properties.items() if "maxLength" in s or "minLength" in s}
        if not limited:
            continue
        if path is None:
            ctx.skip(op, "max_length", "no conversation to send it to")
            continue
        for name, schema in limited.items():
            if "maxLength" in schema:
                limit = schema["maxLength"]
                pointer = _pointer(op, name, "maxLength")
                for label, value in ((f"{limit} ASCII characters", "a" * limit), (f"{limit} emoji", WIDE * limit)):
                    exchange = ctx.send(op, path, json={name: value})
                    ok = ctx.expect_status(
                        op,
                        "max_length_accepted",
                        exchange,
                        _accepted(op),
                        f"for '{name}' of {label} (at maxLength {limit})",
                        pointer,
                    )
                    data = body_json(exchange)
                    if ok and isinstance(data, dict) and name in data:
                        ctx.expect(
                            op,
                            "max_length_accepted",
                            data[name] == value,
                            f"'{name}' stored as sent ({label})",
                            exchange,
                            pointer,
                        )
                for label, value in (
                    (f"{limit + 1} ASCII characters", "a" * (limit + 1)),
                    (f"{limit + 1} emoji", WIDE * (limit + 1)),
                ):
                    exchange = ctx.send(op, path, json={name: value})
                    ctx.expect_rejected(
                        op,
                        "max_length_rejected",
                        exchange,
                        _rejected(op),
                        f"for '{name}' of {label} (one past maxLength {limit})",
                        pointer,
                    )
            if schema.get("minLength"):
                low = schema["minLength"]
                pointer = _pointer(op, name, "minLength")
                exchange = ctx.send(op, path, json={name: WIDE * low})
                ctx.expect_status(
                    op,
                    "min_length",
                    exchange,
                    _accepted(op),
                    f"for '{name}' of {low} character(s) (at minLength)",
                    pointer,
                )
                exchange = ctx.send(op, path, json={name: "a" * (low - 1)})
                ctx.expect_rejected(
                    op,
                    "min_length",
                    exchange,
                    _rejected(op),
                    f"for '{name}' of {low - 1} characters (below minLength {low})",
                    pointer,
                )


def wrong_types_and_nulls(ctx: Context) -> None:
    for op, path in _body_targets(ctx):
        schema = op.request_schema() or {}
        if path is None:
            ctx.skip(op, "wrong_type_rejected", "no conversation to send it to")
            continue
        for name, prop in schema.get("properties", {}).items():
            wrong = wrong_type_value(prop)
            if wrong is not None:
                exchange = ctx.send(op, path, json={name: wrong})
                ctx.expect_rejected(
                    op,
                    "wrong_type_rejected",
                    exchange,
                    _rejected(op),
                    f"for '{name}' = {wrong!r} (type {prop.get('type')})",
                    _pointer(op, name, "type"),
                )
            if not nullable(prop):
                exchange = ctx.send(op, path, json={name: None})
                ctx.expect_rejected(
                    op,
                    "null_rejected",
                    exchange,
                    _rejected(op),
                    f"for '{name}' = null (not nullable)",
                    _pointer(op, name, "type"),
                )
        if schema.get("type") == "object":
            for value in ([1, 2], "text"):
                exchange = ctx.send(op, path, json=value)
                ctx.expect_rejected(
                    op,
                    "wrong_type_rejected",
                    exchange,
                    _rejected(op),
                    f"for a body that is {type(value).__name__}, not an object",
                    f"{op.pointer}/requestBody",
                )


def defaults_applied(ctx: Context) -> None:
    for op in ctx.operations(writes=True):
        if op.method != "POST":
            continue
        defaults = {
            n: p["default"] for n, p in (op.request_schema() or {}).get("properties", {}).items() if "default" in p
        }
        if not defaults:
            continue
        created = create_conversation(ctx, {})
        for name, default in defaults.items():
            actual = created.get(name) if created else None
            ctx.expect(
                op,
                "defaults_applied",
                created is not None and actual == default,
                f"'{name}' = {default!r} when omitted (the documented default)",
                None,
                _pointer(op, name, "default"),
            )


def query_limits(ctx: Context) -> None:
    for op in ctx.operations(writes=False):
        for param in op.parameters:
            if param["in"] != "query":
                continue
            schema = param["schema"]
            pointer = f"{op.pointer}/parameters"
            name = param["name"]
            if "minimum" in schema:
                low = schema["minimum"]
                ok = ctx.send(op, params={name: low})
                ctx.expect_status(op, "query_bounds", ok, _accepted(op), f"for {name}={low} (at minimum)", pointer)
                bad = ctx.send(op, params={name: low - 1})
                ctx.expect_rejected(
                    op, "query_bounds", bad, _rejected(op), f"for {name}={low - 1} (below minimum {low})", pointer
                )
            if schema.get("type") == "integer":
                bad = ctx.send(op, params={name: "not-a-number"})
                ctx.expect_rejected(
                    op, "query_bounds", bad, _rejected(op), f"for {name}=not-a-number (type integer)", pointer
                )
            if "enum" in schema:
                for value in schema["enum"]:
                    ok = ctx.send(op, params={name: value})
                    ctx.expect_status(
                        op, "query_bounds", ok, _accepted(op), f"for {name}={value} (in the enum)", pointer
                    )
                bad = ctx.send(op, params={name: "not-in-enum"})
                ctx.expect_rejected(
                    op, "query_bounds", bad, _rejected(op), f"for {name}=not-in-enum (enum {schema['enum']})", pointer
                )


def path_formats(ctx: Context) -> None:
    for op in ctx.operations():
        for param in op.parameters:
            if param["in"] == "path" and param["schema"].get("format") == "uuid":
                exchange = ctx.send(
                    op, op.path.replace("{" + param["name"] + "}", "not-a-uuid"), json={} if op.request_body else None
                )
                # Rule 9: a malformed uuid may be 400 or 404; whichever the spec documents.
                allowed = [s for s in op.statuses if s in ("400", "404")]
                ctx.expect_rejected(
                    op,
                    "path_format",
                    exchange,
                    allowed,
                    f"for {param['name']}=not-a-uuid (format uuid)",
                    f"{op.pointer}/parameters",
                )


CHECKS = [string_limits, wrong_types_and_nulls, defaults_applied, query_limits, path_formats]
READ_ONLY_CHECKS = [query_limits, path_formats]  # the others send bodies: writes
