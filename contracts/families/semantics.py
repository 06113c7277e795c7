"""Semantics the schema cannot express: what is written is what is read back, partial
updates, timestamps, deletes, list membership and cursor pagination; systemprompt.io's
merged metadata. (Schemathesis never compares a later read with an earlier write.)"""

from __future__ import annotations

import itertools
import time
from typing import Any

from specs.timestamps import RESOLUTION
from specs.timestamps import instant as _timestamp

from ..context import Context, body_json
from ..values import valid_value
from . import only_for
from .fixtures import create_conversation, existing_systemprompt_id, item_path, send_listing

PAGES = 200  # walking a list never takes more pages than this


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else None


def _full_body(ctx: Context, operation_id: str) -> dict[str, Any]:
    schema = ctx.spec.operation(operation_id).request_schema() or {}
    body = {name: valid_value(prop, tag=f"{ctx.run_tag}-{name}") for name, prop in schema.get("properties", {}).items()}
    body["ownerId"] = ctx.run_tag
    return body


@only_for("runtype")
def runtype_round_trip(ctx: Context) -> None:
    create, get = ctx.spec.operation("createConversation"), ctx.spec.operation("getConversation")
    sent = _full_body(ctx, "createConversation")
    created = create_conversation(ctx, sent)
    if not ctx.expect(
        create, "create_then_get", created is not None, "create to succeed with every documented field", None
    ):
        return
    assert created is not None
    ctx.expect(
        create,
        "create_then_get",
        all(created.get(k) == v for k, v in sent.items()),
        f"the created conversation to carry what was sent: {sent}",
        None,
    )
    exchange = ctx.send(get, item_path(ctx, "getConversation", created["id"]))
    ctx.expect(
        get, "create_then_get", body_json(exchange) == created, "get to return exactly what create returned", exchange
    )
    for name in ("createdAt", "updatedAt"):
        ctx.expect(
            create,
            "timestamps",
            _timestamp(created.get(name)) is not None,
            f"{name} an RFC 3339 timestamp with a zone, as in the documentation's examples",
            None,
        )


@only_for("runtype")
def runtype_partial_update(ctx: Context) -> None:
    update, get = ctx.spec.operation("updateConversation"), ctx.spec.operation("getConversation")
    created = create_conversation(ctx, _full_body(ctx, "createConversation"))
    if created is None:
        ctx.skip(update, "partial_update", "create does not work")
        return
    path = item_path(ctx, "updateConversation", created["id"])
    first = ctx.send(
        update,
        path,
        json={
            "title": "partial-1",
            "messages": [
                {"id": "m1", "role": "user", "content": "one"},
                {"id": "m2", "role": "assistant", "content": "two"},
            ],
        },
    )
    second = ctx.send(
        update, path, json={"title": "partial-2", "messages": [{"id": "m3", "role": "user", "content": "three"}]}
    )
    after = body_json(ctx.send(get, item_path(ctx, "getConversation", created["id"])))
    if not ctx.expect(
        update,
        "update_persisted",
        isinstance(after, dict) and after.get("title") == "partial-2",
        "a later get to show the updated title",
        second,
    ):
        return
    sent = {"title", "messages"}  # what the two updates carried; timestamps are checked below
    untouched = [k for k in created if k not in sent | {"id", "createdAt", "updatedAt"} and after.get(k) != created[k]]
    ctx.expect(
        update,
        "partial_update",
        not untouched,
        f"fields absent from the update to keep their values (changed: {untouched})",
        second,
    )
    ctx.expect(
        update,
        "messages_replaced",
        after.get("messages") == [{"id": "m3", "role": "user", "content": "three"}],
        "`messages` replaced whole by the last update",
        second,
    )
    created_at = _timestamp(created.get("createdAt"))
    updated = [_timestamp(_field(body_json(e), "updatedAt")) for e in (first, second)]
    ctx.expect(
        update, "timestamps", after.get("createdAt") == created.get("createdAt"), "createdAt never to change", second
    )
    start = _timestamp(created.get("updatedAt"))
    stamps = [start, *updated]
    readable = None not in stamps and created_at is not None
    moving = readable and all(a <= b for a, b in itertools.pairwise(stamps))  # type: ignore[operator]
    last = second
    if moving and not all(a < b for a, b in itertools.pairwise(stamps)):  # type: ignore[operator]
        # Equal stamps may be a clock read to the second: wait past its resolution, then the
        # next update must move it. Only a stamp that never moves is proof.
        time.sleep(RESOLUTION)
        last = ctx.send(update, path, json={"title": "partial-3"})
        third = _timestamp(_field(body_json(last), "updatedAt"))
        moving = third is not None and third > stamps[-1]  # type: ignore[operator]
        stamps.append(third)
    ctx.expect(
        update,
        "timestamps",
        bool(moving),
        f"updatedAt to move forward on every update ({created.get('updatedAt')} → {[str(u) for u in stamps[1:]]})",
        last,
    )


@only_for("runtype")
def runtype_delete(ctx: Context) -> None:
    delete, get = ctx.spec.operation("deleteConversation"), ctx.spec.operation("getConversation")
    created = create_conversation(ctx)
    if created is None:
        ctx.skip(delete, "delete_then_get", "create does not work")
        return
    first = ctx.send(delete, item_path(ctx, "deleteConversation", created["id"]))
    ctx.expect_status(
        delete,
        "delete_then_get",
        first,
        [s for s in delete.statuses if s.startswith("2")],
        "for a delete of an existing conversation",
    )
    gone = ctx.send(get, item_path(ctx, "getConversation", created["id"]))
    if not ctx.expect_status(get, "delete_then_get", gone, ["404"], "for a get after delete"):
        ctx.skip(delete, "delete_twice", "the first delete did not delete")
        return
    again = ctx.send(delete, item_path(ctx, "deleteConversation", created["id"]))
    ctx.expect_status(delete, "delete_twice", again, ["404"], "for a second delete")


@only_for("runtype")
def runtype_list_and_pagination(ctx: Context) -> None:
    listing = ctx.spec.operation("listConversations")
    made = [c for c in (create_conversation(ctx, {"title": f"page-{i}"}) for i in range(5)) if c]
    if len(made) < 5:
        ctx.skip(listing, "list_contains_created", "create does not work")
        return
    expected = [c["id"] for c in made]
    seen: list[str] = []
    cursor: str | None = None
    last = None
    for _ in range(PAGES):
        params: dict[str, Any] = {"ownerId": ctx.run_tag, "limit": 2} | ({"cursor": cursor} if cursor else {})
        last = ctx.send(listing, params=params)
        page = body_json(last)
        if not isinstance(page, dict):
            break
        items = page.get("conversations") or []
        ctx.expect(listing, "pagination", len(items) <= 2, "a page to hold at most `limit` items", last)
        seen += [str(i.get("id")) for i in items if isinstance(i, dict)]
        # Creating mid-walk must neither shift nor repeat later pages.
        if cursor is None:
            create_conversation(ctx, {"title": "created mid-walk"})
        pagination = page.get("pagination") or {}
        cursor = pagination.get("nextCursor")
        if not pagination.get("hasMore") or not cursor:
            break
    ctx.expect(
        listing, "pagination", len(seen) == len(set(seen)), f"no conversation twice across pages (saw {seen})", last
    )
    missing = [i for i in expected if i not in seen]
    ctx.expect(
        listing,
        "list_contains_created",
        not missing,
        f"every created conversation listed (filtered by ownerId); missing {missing}",
        last,
    )


PAGING = ("limit", "cursor", "page")


@only_for("runtype")
def runtype_list_filters(ctx: Context) -> None:
    """Each documented list filter filters: a conversation made to match is on the filtered
    page and one made not to match is not; items that carry the filtered field all match.
    (Create cannot set `source`, `surface_id` or `client_token_id`: for those, the one made
    not to match is what proves the filter, and a value no conversation has.)"""
    listing = ctx.spec.operation("listConversations")
    filters = [p for p in listing.parameters if p["in"] == "query" and p["name"] not in PAGING]
    if not filters:
        return
    match_tag, other_tag = ctx.tag("match"), ctx.tag("other")
    match = create_conversation(ctx, {"ownerId": match_tag})
    # A second one of the same owner, so the one required on the page is not the newest:
    # a list that drops its newest item is list_contains_created's finding, not this one's.
    newer = create_conversation(ctx, {"ownerId": match_tag})
    other = create_conversation(ctx, {"ownerId": other_tag})
    if match is None or newer is None or other is None:
        ctx.skip(listing, "list_filters", "create does not work")
        return
    for param in filters:
        name, schema = param["name"], param["schema"]
        if name in match and "enum" not in schema:
            values = [(match[name], True)]  # the matching one is `match`, `other` must be left out
        elif "enum" in schema:
            values = [(v, v == match.get(name)) for v in schema["enum"]]
        else:
            values = [(f"{ctx.run_tag}-no-such-{name}", False)]
        for value, holds_match in values:
            exchange = send_listing(ctx, listing, {name: value})
            page = body_json(exchange)
            items = page.get("conversations") if isinstance(page, dict) else None
            if not ctx.expect(listing, "list_filters", isinstance(items, list), f"a page for {name}={value}", exchange):
                continue
            assert isinstance(items, list)
            ids = [i.get("id") for i in items if isinstance(i, dict)]
            wrong = [i.get("id") for i in items if isinstance(i, dict) and name in i and i[name] != value]
            # Made not to match: carries another value, or cannot carry this field at all.
            leaked = any(c["id"] in ids and c.get(name, object()) != value for c in (match, other))
            ctx.expect(
                listing,
                "list_filters",
                not wrong and not leaked,
                f"{name}={value} to list only conversations with {name} {value!r}"
                + (f" (listed {wrong[:3]})" if wrong else "")
                + (" (listed one made not to match)" if leaked else ""),
                exchange,
                f"{listing.pointer}/parameters",
            )
            if holds_match and name == "ownerId":  # a value unique to this run: the page is short
                ctx.expect(
                    listing,
                    "list_filters",
                    match["id"] in ids,
                    f"{name}={value} to list the conversation made to match ({match['id']})",
                    exchange,
                    f"{listing.pointer}/parameters",
                )


PROBE, KEEP = "convo-contracts-probe", "convo-contracts-keep"


@only_for("systemprompt")
def systemprompt_update_visible(ctx: Context) -> None:
    update, get, listing = (
        ctx.spec.operation(o) for o in ("updateConversation", "getConversation", "listConversations")
    )
    found = existing_systemprompt_id(ctx)
    if found is None:
        ctx.skip(update, "update_persisted", "no conversation to update (pass --systemprompt-id)")
        return
    path = item_path(ctx, "updateConversation", found)
    # Two updates of two keys: the merge is observable whatever the metadata held before.
    ctx.send(update, path, json={"metadata": {KEEP: ctx.run_tag}})
    before = body_json(ctx.send(get, item_path(ctx, "getConversation", found)))
    exchange = ctx.send(update, path, json={"metadata": {PROBE: ctx.run_tag}})
    after = body_json(ctx.send(get, item_path(ctx, "getConversation", found)))
    metadata = after.get("metadata") if isinstance(after, dict) else None
    if not ctx.expect(
        update,
        "update_persisted",
        isinstance(metadata, dict) and metadata.get(PROBE) == ctx.run_tag,
        "a later get to show the updated metadata",
        exchange,
    ):
        return
    assert isinstance(metadata, dict)
    kept = (before.get("metadata") or {}) if isinstance(before, dict) else {}
    merged = metadata.get(KEEP) == ctx.run_tag and all(metadata.get(k) == v for k, v in kept.items() if k != PROBE)
    ctx.outcome(update, "metadata_merged")
    if not merged:
        # Rule 3 keeps absent *fields*; whether `metadata` is merged key by key or replaced
        # whole is the mock's choice (rule 17): another answer is an observation, not a failure.
        ctx.observe(
            update,
            "metadata_merged",
            f"metadata replaced whole, not merged key by key (rule 17): {KEEP!r}, written just before, is gone",
            exchange,
        )
    ctx.expect(
        update,
        "partial_update",
        isinstance(before, dict) and after.get("message") == before.get("message"),
        "`message` untouched by a metadata update",
        exchange,
    )
    for page in range(1, PAGES):
        listed = body_json(send_listing(ctx, listing, {"page": page}))
        if not isinstance(listed, list) or not listed:
            ctx.expect(listing, "update_visible_in_list", False, f"the list to contain conversation {found}", None)
            return
        match = next((c for c in listed if isinstance(c, dict) and c.get("id") == found), None)
        if match is not None:
            ok = (match.get("metadata") or {}).get(PROBE) == ctx.run_tag
            ctx.expect(listing, "update_visible_in_list", ok, "the list to show the updated metadata", None)
            return


def list_then_get_agree(ctx: Context) -> None:
    """Read-only too: every listed conversation can be fetched and says the same."""
    listing, get = ctx.spec.operation("listConversations"), ctx.spec.operation("getConversation")
    data = body_json(ctx.send(listing))
    items = data.get("conversations") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        ctx.skip(get, "list_then_get", "the list is empty")
        return
    for item in items[:5]:
        if not isinstance(item, dict) or "id" not in item:
            continue
        exchange = ctx.send(get, item_path(ctx, "getConversation", str(item["id"])))
        full = body_json(exchange)
        same = isinstance(full, dict) and all(full.get(k) == v for k, v in item.items() if k in full and k != "_link")
        ctx.expect(
            get, "list_then_get", same, f"get of listed conversation {item['id']} to agree with the list", exchange
        )


CHECKS = [
    runtype_round_trip,
    runtype_partial_update,
    runtype_delete,
    runtype_list_and_pagination,
    runtype_list_filters,
    systemprompt_update_visible,
    list_then_get_agree,
]
READ_ONLY_CHECKS = [list_then_get_agree]
