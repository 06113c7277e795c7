"""Conversations the checks work on: created (and tracked for clean-up) or found."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from specs import Operation

from ..context import Context, body_json
from ..target import Credential, Exchange


class UnaddressableId(ValueError):
    """An id from the server that cannot be one path segment of a URL."""


def fill_path(op: Operation, item_id: str) -> str:
    """`op`'s path with `item_id` as its one path parameter, percent-encoded whole: an id such
    as `../../x` stays one segment and never reaches `/x`."""
    if item_id in ("", ".", ".."):
        raise UnaddressableId(f"id {item_id!r} cannot be a path segment")
    try:
        segment = quote(item_id, safe="")
    except UnicodeEncodeError as exc:  # e.g. a lone surrogate from "\ud800" in JSON
        raise UnaddressableId(f"id {item_id!r} cannot be encoded in a URL") from exc
    (param,) = [p["name"] for p in op.parameters if p["in"] == "path"]
    return op.path.replace("{" + param + "}", segment)


def addressable(ctx: Context, op: Operation, item_id: Any, exchange: Exchange | None) -> bool:
    """Whether an id the server gave can address its conversation; if not, that is the
    server's violation (its ids must work in its own paths), recorded under `id_addressable`."""
    ok = isinstance(item_id, str)
    if ok:
        try:
            fill_path(ctx.spec.operation("getConversation"), item_id)
        except UnaddressableId:
            ok = False
    return ctx.expect(op, "id_addressable", ok, f"an id that can be put in a URL path (got {item_id!r})", exchange)


def create_conversation(ctx: Context, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A new Runtype conversation owned by this run, or None when create does not work."""
    op = ctx.spec.operation("createConversation")
    exchange = ctx.send(op, json={"ownerId": ctx.run_tag, **(body or {})})
    data = body_json(exchange)
    if exchange.response is None or not exchange.response.is_success or not isinstance(data, dict) or "id" not in data:
        return None
    return data if addressable(ctx, op, data["id"], exchange) else None


def existing_systemprompt_id(ctx: Context) -> str | None:
    """`--systemprompt-id`, or the first conversation the main key's list shows."""
    if ctx.target.systemprompt_id:
        return ctx.target.systemprompt_id
    listing = ctx.spec.operation("listConversations")
    exchange = ctx.send(listing)
    data = body_json(exchange)
    if isinstance(data, list) and data and isinstance(data[0], dict) and "id" in data[0]:
        found = data[0]["id"]
        return str(found) if addressable(ctx, listing, found, exchange) else None
    return None


def item_path(ctx: Context, operation_id: str, item_id: str) -> str:
    return fill_path(ctx.spec.operation(operation_id), item_id)


def _largest_page(op: Operation) -> int | None:
    """The largest `limit` worth asking for: the spec's documented maximum, else the largest
    page our mock serves (`x-mock-max-limit`, a choice of ours); None: leave `limit` out."""
    param = op.parameter("limit")
    if param is None:
        return None
    largest = param.get("schema", {}).get("maximum") or param.get("x-mock-max-limit")
    return int(largest) if largest is not None else None


def send_listing(
    ctx: Context,
    op: Operation,
    params: dict[str, Any],
    path: str | None = None,
    credential: Credential = Credential.MAIN,
) -> Exchange:
    """A list request for a page as large as the server serves. No maximum is documented, so
    a server that caps lower may refuse ours with a 4xx: then the same request without
    `limit`, at the server's default page size."""
    largest = _largest_page(op)
    if largest is None:
        return ctx.send(op, path, credential=credential, params=params or None)
    exchange = ctx.send(op, path, credential=credential, params={**params, "limit": largest})
    if exchange.response is not None and 400 <= exchange.response.status_code < 500:
        return ctx.send(op, path, credential=credential, params=params or None)
    return exchange
