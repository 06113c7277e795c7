"""Conversations the checks work on: created (and tracked for clean-up) or found."""

from __future__ import annotations

from typing import Any

from ..context import Context, body_json


def create_conversation(ctx: Context, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A new Runtype conversation owned by this run, or None when create does not work."""
    op = ctx.spec.operation("createConversation")
    exchange = ctx.send(op, json={"ownerId": ctx.run_tag, **(body or {})})
    data = body_json(exchange)
    if exchange.response is None or not exchange.response.is_success or not isinstance(data, dict) or "id" not in data:
        return None
    return data


def existing_systemprompt_id(ctx: Context, key: str | None = None) -> str | None:
    """`--systemprompt-id`, or the first conversation the key's list shows."""
    if ctx.target.systemprompt_id and key is None:
        return ctx.target.systemprompt_id
    exchange = ctx.send(ctx.spec.operation("listConversations"), key=key or True)
    data = body_json(exchange)
    if isinstance(data, list) and data and isinstance(data[0], dict) and "id" in data[0]:
        return str(data[0]["id"])
    return None


def item_path(ctx: Context, operation_id: str, item_id: str) -> str:
    op = ctx.spec.operation(operation_id)
    (param,) = [p["name"] for p in op.parameters if p["in"] == "path"]
    return op.path.replace("{" + param + "}", item_id)
