"""The Runtype model: what the documentation (and the rules it leaves to servers) lets a
deployment answer to each step of a sequence, given every step before it.

State per tenant: the conversations this sequence created (by handle), what its lists and
reads showed of others, the owner tags each tenant wrote, and the open page walk. Where the
documentation leaves a choice open the model accepts every allowed one and adopts what the
server chose: create's 200/201 (rule 1), delete's body (rule 2), metadata replaced or merged,
fields create does not default, `source` (rule 21), timestamp precision (rule 12), page sizes
and cursors (rules 13, 14), one id space per key (rule 8).

Each check is a named function `check(model, view)` yielding `Problem`s; `CHECKS` lists them.
A check judges the answer against the state *before* the step; `apply` then moves the state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import specs
from specs.timestamps import RESOLUTION, instant

from ..fixtures import UnaddressableId, fill_path
from .core import (
    TENANTS,
    Action,
    Answer,
    Problem,
    Request,
    Step,
    diff_text,
    judges,
    metadata_choices,
    same,
    show,
)

PAGING = ("limit", "cursor")
TIMESTAMPS = ("createdAt", "updatedAt")
# How far past RESOLUTION a late step is sent: the check compares the two clock readings
# strictly, and a sleep may end a little early.
LATE_MARGIN = 0.05

# How much of a field a problem's text shows.
SHOWN = 80


@dataclass
class Conv:
    """A conversation this sequence created."""

    handle: int
    tenant: str
    created_at_step: int
    id: str | None = None  # None: the create failed or was never answered
    state: dict[str, Any] | None = None  # the conversation as last confirmed
    deleted_at_step: int | None = None
    unsure: bool = False  # a write's answer was lost: the next read tells what happened
    superseded: bool = False  # its id was handed out again after its delete
    stamp_seen: float = 0.0  # when the current updatedAt was first seen (monotonic)
    written_at_step: int = 0
    # The other key tried to delete it since the owner last read it: a 404 then is a leak.
    deleted_by_other: bool = False

    @property
    def alive(self) -> bool:
        return self.id is not None and self.deleted_at_step is None and not self.unsure and self.state is not None

    @property
    def deleted(self) -> bool:
        return self.deleted_at_step is not None and not self.unsure and not self.superseded


@dataclass
class Walk:
    """A tenant's pages, from the first request to the last page (or a new first page)."""

    params: dict[str, Any]
    cursor: str | None
    seen: list[str]
    started_at_step: int
    stable: bool = True  # no write since the first page: the pages must add up exactly
    done: bool = False


@dataclass
class View:
    """One step as the checks see it: what was asked, of whom, and the state before it."""

    step: Step
    op: specs.Operation
    conv: Conv | None  # the conversation of this sequence it addresses
    own: bool  # the sender is the conversation's owner
    twin: Conv | None  # sender's own conversation of the same id (each key its own id space)
    foreign_id: str | None  # a conversation only seen in lists

    @property
    def action(self) -> Action:
        return self.step.action

    @property
    def answer(self) -> Answer:
        return self.step.answer

    @property
    def sender(self) -> str:
        return self.step.action.tenant

    @property
    def mine(self) -> Conv | None:
        """The sender's own conversation this step addresses, if any."""
        if self.conv is not None and self.own:
            return self.conv
        return self.twin


class RuntypeModel:
    api = "runtype"

    def __init__(self) -> None:
        spec = specs.load("runtype")
        self.spec = spec
        create = spec.operation("createConversation").request_schema() or {}
        self.defaults = {n: p["default"] for n, p in create.get("properties", {}).items() if "default" in p}
        update = spec.operation("updateConversation").request_schema() or {}
        self.update_fields = list(update.get("properties", {}))
        listing = spec.operation("listConversations")
        self.filters = [p["name"] for p in listing.parameters if p["in"] == "query" and p["name"] not in PAGING]
        self.summary_fields = list(spec.schema("ConversationSummary")["properties"])
        self.limit_default = (listing.parameter("limit") or {}).get("schema", {}).get("default")
        self.success = {op.operation_id: {s for s in op.statuses if s.startswith("2")} for op in spec.operations}
        self.convs: dict[int, Conv] = {}
        self.foreign: dict[tuple[str, str], dict[str, Any]] = {}  # (tenant, id) → fields seen
        self.listed: dict[str, list[str]] = {t: [] for t in TENANTS}
        self.walks: dict[str, Walk] = {}
        self.owners: dict[str, set[str]] = {t: set() for t in TENANTS}  # ownerIds each tenant wrote

    # --- turning actions into requests ------------------------------------------------------

    def request(self, action: Action, step: int) -> Request | None:
        """The request for `action`, or None when it cannot be made (no such conversation yet)."""
        op = self.spec.operation(action.op)
        if action.op == "createConversation":
            assert action.handle is not None
            self.convs.setdefault(action.handle, Conv(action.handle, action.tenant, step))
            return Request(op.operation_id, op.method, op.path, action.tenant, body=action.body, has_body=True)
        if action.op == "listConversations":
            params = dict(action.params)
            if action.follow:
                walk = self.walks.get(action.tenant)
                if walk is None or walk.done or not walk.cursor:
                    return None
                params = {**walk.params, "cursor": walk.cursor}
            return Request(op.operation_id, op.method, op.path, action.tenant, params=params)
        item = self._item_id(action)
        if item is None:
            return None
        try:
            path = fill_path(op, item)
        except UnaddressableId:
            return None
        has_body = op.request_body is not None
        return Request(op.operation_id, op.method, path, action.tenant, body=action.body, has_body=has_body)

    def wait(self, action: Action, now: float) -> float:
        """Seconds to wait before sending `action` (monotonic `now`): a late step goes more
        than RESOLUTION after its conversation's updatedAt was first seen."""
        conv = self.convs.get(action.handle) if action.late and action.handle is not None else None
        if conv is None or conv.state is None:
            return 0.0
        return max(0.0, conv.stamp_seen + RESOLUTION + LATE_MARGIN - now)

    def _item_id(self, action: Action) -> str | None:
        if action.handle is not None:
            conv = self.convs.get(action.handle)
            return conv.id if conv is not None else None
        if action.listed is not None:
            seen = self.listed[action.tenant]
            return seen[action.listed % len(seen)] if seen else None
        return None

    def view(self, step: Step) -> View:
        action = step.action
        op = self.spec.operation(action.op)
        conv = self.convs.get(action.handle) if action.handle is not None else None
        item = self._item_id(action) if action.op != "createConversation" else None
        own = conv is not None and conv.tenant == action.tenant
        if action.listed is not None and item is not None:
            conv = self.own_conv(action.tenant, item)
            own = conv is not None
        twin = None
        if conv is not None and not own and conv.id is not None:
            twin = self.own_conv(action.tenant, conv.id)
        foreign = item if action.listed is not None and conv is None else None
        return View(step, op, conv, own, twin, foreign)

    def own_conv(self, tenant: str, item: str) -> Conv | None:
        found = [c for c in self.convs.values() if c.tenant == tenant and c.id == item and not c.superseded]
        alive = [c for c in found if c.deleted_at_step is None]
        return (alive or found)[-1] if found else None

    # --- what the model expects, in words ----------------------------------------------------

    def expectation(self, view: View) -> str:
        action, op = view.action, view.op
        success = " or ".join(sorted(self.success[op.operation_id]))
        if action.op == "createConversation":
            sent = {k: v for k, v in (action.body or {}).items()}
            defaults = {k: v for k, v in self.defaults.items() if k not in sent}
            return f"{success} with the conversation as sent {show(sent, 200)}" + (
                f", documented defaults {show(defaults)}" if defaults else ""
            )
        if action.op == "listConversations":
            walk = self.walks.get(action.tenant)
            page = "the next page" if action.follow else "a first page"
            limit = (walk.params if action.follow and walk else action.params).get("limit")
            bound = f" of at most {limit}" if limit is not None else ""
            return f"{success}: {page}{bound}, each conversation listed as the model knows it, filters applied"
        mine = view.mine
        if view.conv is not None and not view.own and mine is None:
            return "404 (another key's conversation), or this key's own conversation of that id: never the owner's data"
        if mine is None:
            return f"{success}, the conversation as listed before" if view.foreign_id else success
        if mine.deleted:
            return f"404: deleted at step {mine.deleted_at_step}"
        if mine.unsure:
            return f"{success} or 404: an earlier write's answer was lost"
        if action.op == "updateConversation":
            return f"{success}: the sent fields {show(sorted((action.body or {}).keys()))} changed, every other kept"
        if action.op == "deleteConversation":
            return f"{success}: the conversation created at step {mine.created_at_step} deleted"
        return f"{success} with the conversation as last written (step {mine.written_at_step})"

    # --- moving the state ---------------------------------------------------------------------

    def apply(self, view: View) -> None:
        action = view.action
        number = view.step.number
        if action.op != "listConversations" and action.op != "getConversation":
            for walk in self.walks.values():
                walk.stable = False
            sent_owner = (action.body or {}).get("ownerId") if isinstance(action.body, dict) else None
            if isinstance(sent_owner, str):
                self.owners[action.tenant].add(sent_owner)
        if action.op == "createConversation":
            self._apply_create(view, number)
        elif action.op == "listConversations":
            self._apply_list(view, number)
        else:
            self._apply_item(view, number)

    def _apply_create(self, view: View, number: int) -> None:
        conv, answer = view.conv, view.answer
        assert conv is not None
        body = answer.body
        if answer.ok and isinstance(body, dict) and isinstance(body.get("id"), str):
            for other in self.convs.values():
                if other is not conv and other.tenant == conv.tenant and other.id == body["id"] and other.deleted:
                    other.superseded = True
            conv.id, conv.state, conv.stamp_seen, conv.written_at_step = body["id"], body, answer.received, number
        elif answer.lost:
            conv.unsure = True  # may exist: its owner tag lets clean-up find it

    def _apply_item(self, view: View, number: int) -> None:
        action, answer = view.action, view.answer
        conv = view.mine
        if view.conv is not None and not view.own and action.op == "deleteConversation":
            view.conv.deleted_by_other = True
        if view.foreign_id is not None and answer.ok and isinstance(answer.body, dict):
            self.foreign[(action.tenant, view.foreign_id)] = answer.body
        if conv is None:
            return
        if answer.lost:
            if action.op != "getConversation":
                conv.unsure = True
            return
        if action.op == "getConversation":
            if answer.ok and isinstance(answer.body, dict):
                self._adopt(conv, answer, conv.written_at_step)
                conv.unsure, conv.deleted_by_other = False, False
            elif answer.status == 404 and conv.unsure:
                conv.unsure, conv.deleted_at_step = False, number
        elif action.op == "updateConversation":
            if answer.ok and isinstance(answer.body, dict):
                self._adopt(conv, answer, number)
                conv.unsure = False
        elif action.op == "deleteConversation" and (answer.ok or (answer.status == 404 and conv.unsure)):
            conv.deleted_at_step, conv.unsure = number, False

    @staticmethod
    def _adopt(conv: Conv, answer: Answer, written: int) -> None:
        old = (conv.state or {}).get("updatedAt")
        conv.state = answer.body
        conv.written_at_step = written
        if answer.body.get("updatedAt") != old:
            conv.stamp_seen = answer.received

    def _apply_list(self, view: View, number: int) -> None:
        action, answer = view.action, view.answer
        page = answer.body if isinstance(answer.body, dict) else {}
        items = [i for i in page.get("conversations") or [] if isinstance(i, dict)]
        ids = [str(i.get("id")) for i in items if isinstance(i.get("id"), str)]
        for item in items:
            if isinstance(item.get("id"), str) and self.own_conv(action.tenant, item["id"]) is None:
                self.foreign[(action.tenant, item["id"])] = item
        self.listed[action.tenant] += [i for i in ids if i not in self.listed[action.tenant]]
        pagination = page.get("pagination")
        pagination = pagination if isinstance(pagination, dict) else {}
        cursor = pagination.get("nextCursor") if pagination.get("hasMore") else None
        cursor = cursor if isinstance(cursor, str) and cursor else None
        walk = self.walks.get(action.tenant)
        if not answer.ok:
            return
        if action.follow and walk is not None:
            walk.seen += ids
            walk.cursor = cursor
        else:
            walk = self.walks[action.tenant] = Walk(dict(action.params), cursor, ids, number)
        walk.done = cursor is None

    def cleanup(self) -> list[Action]:
        """Deletes for what this sequence created and did not delete, by each owner."""
        return [
            Action("deleteConversation", c.tenant, handle=c.handle)
            for c in self.convs.values()
            if c.id is not None and (c.deleted_at_step is None or c.unsure)
        ]

    # --- helpers for the checks -----------------------------------------------------------------

    def other(self, tenant: str) -> str:
        return next(t for t in TENANTS if t != tenant)

    def matches(self, state: dict[str, Any], filters: dict[str, Any]) -> bool:
        """Whether one of our conversations matches list filters. Ours carry no field a filter
        names beyond the conversation's own (e.g. surface_id): those never match."""
        return all(name in state and same(state[name], value) for name, value in filters.items())

    def summary_of(self, state: dict[str, Any]) -> dict[str, Any]:
        messages = state.get("messages")
        full = {**state, "messageCount": len(messages) if isinstance(messages, list) else None}
        return {k: full.get(k) for k in self.summary_fields if k not in TIMESTAMPS}


def _conversations(view: View) -> list[dict[str, Any]]:
    """Every conversation object in the answer: the one of an item operation, or a page's."""
    body = view.answer.body
    if not view.answer.ok or not isinstance(body, dict):
        return []
    if view.action.op == "listConversations":
        return [i for i in body.get("conversations") or [] if isinstance(i, dict)]
    return [body] if view.action.op != "deleteConversation" else []


def _page(view: View) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    body = view.answer.body
    if view.action.op != "listConversations" or not view.answer.ok or not isinstance(body, dict):
        return None
    items = body.get("conversations")
    pagination = body.get("pagination")
    if not isinstance(items, list):
        return None
    return [i for i in items if isinstance(i, dict)], pagination if isinstance(pagination, dict) else {}


def _listing_params(model: RuntypeModel, view: View) -> dict[str, Any]:
    walk = model.walks.get(view.sender)
    return dict(walk.params) if view.action.follow and walk is not None else dict(view.action.params)


def _differences(expected: dict[str, Any], got: dict[str, Any], fields: list[str]) -> list[str]:
    return [f for f in fields if not same(expected.get(f), got.get(f))]


# --- the checks --------------------------------------------------------------------------------


def not_a_server_error(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """A 5xx is never a documented answer: the shortest sequence that causes it."""
    if view.answer.status is not None and view.answer.status >= 500:
        yield Problem("not_a_server_error", "no 5xx: a server error is never a documented answer")


@judges("createConversation", "updateConversation", "listConversations")
def valid_input_accepted(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """A request whose every value is within the spec's schema is not refused."""
    status, action = view.answer.status, view.action
    if status is None or not 400 <= status < 500:
        return
    own_write = action.op == "updateConversation" and view.mine is not None and view.mine.alive
    if action.op not in ("createConversation", "listConversations") and not own_write:
        return
    limit = _listing_params(model, view).get("limit") if action.op == "listConversations" else None
    if status == 413 or (limit is not None and model.limit_default is not None and limit > model.limit_default):
        # No size limit and no largest page is documented: a server may draw its own line.
        why = "a body size" if status == 413 else f"a largest page below limit={limit}"
        yield Problem("valid_input_accepted", f"{why} of the server's own (not documented)", observation=True)
        return
    if action.op == "updateConversation" and status == 404:
        return  # own_conversations_reachable's finding
    yield Problem(
        "valid_input_accepted",
        f"{' or '.join(sorted(model.success[action.op]))}: every value sent is valid by the spec's schema"
        f" ({view.op.pointer}), unusual as it may be",
    )


@judges("createConversation")
def create_as_sent(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """Create answers a new conversation carrying what was sent and the documented defaults."""
    if view.action.op != "createConversation" or not view.answer.ok:
        return
    body, sent = view.answer.body, view.action.body or {}
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        yield Problem("create_as_sent", "the created conversation, with a string id")
        return
    try:
        fill_path(model.spec.operation("getConversation"), body["id"])
    except UnaddressableId:
        yield Problem("create_as_sent", f"an id that can address the conversation in a URL (got {show(body['id'])})")
        return
    clash = [c for c in model.convs.values() if c.tenant == view.sender and c.alive and c.id == body["id"]]
    if clash:
        yield Problem(
            "create_as_sent",
            f"a new id: {show(body['id'])} already names the conversation of step {clash[0].created_at_step}",
        )
    expected = {**{k: v for k, v in model.defaults.items() if k not in sent}, **sent}
    wrong = _differences(expected, body, list(expected))
    if wrong:
        yield Problem(
            "create_as_sent",
            f"the conversation as sent, documented defaults for the rest ({diff_text(expected, body, wrong, SHOWN)})",
        )


@judges("getConversation", "updateConversation", "deleteConversation")
def own_conversations_reachable(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """A conversation this key created and did not delete can be read, updated, deleted."""
    conv = view.mine
    if view.action.op in ("createConversation", "listConversations") or conv is None or not conv.alive:
        return
    if view.answer.status is None or view.answer.ok or view.answer.status >= 500:
        return
    if view.action.op == "updateConversation" and view.answer.status != 404:
        return  # valid_input_accepted's finding
    yield Problem(
        "own_conversations_reachable",
        f"{' or '.join(sorted(model.success[view.action.op]))}: this key created the conversation at step "
        f"{conv.created_at_step} and has not deleted it",
    )


@judges("getConversation", "updateConversation", "deleteConversation", "listConversations")
def deleted_stays_deleted(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """After a delete the conversation is gone: 404 on every operation, in no list."""
    conv = view.mine
    if view.action.op not in ("createConversation", "listConversations"):
        if conv is not None and conv.deleted and view.answer.ok:
            yield Problem("deleted_stays_deleted", f"404: the conversation was deleted at step {conv.deleted_at_step}")
        return
    page = _page(view)
    if page is None:
        return
    for item in page[0]:
        gone = [
            c
            for c in model.convs.values()
            if c.tenant == view.sender
            and c.deleted
            and c.id == item.get("id")
            and not any(o.alive and o.id == c.id and o.tenant == view.sender for o in model.convs.values())
        ]
        if gone:
            yield Problem(
                "deleted_stays_deleted",
                f"no list to show {show(item.get('id'))}: it was deleted at step {gone[0].deleted_at_step}",
            )
            return


@judges("updateConversation")
def merge_semantics(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """An update changes what it sent and keeps the rest (rule 3): `messages` replaced whole,
    `metadata` replaced or merged (either is allowed)."""
    conv = view.mine
    if view.action.op != "updateConversation" or conv is None or not conv.alive or not view.answer.ok:
        return
    body, sent, old = view.answer.body, view.action.body or {}, conv.state or {}
    if not isinstance(body, dict):
        yield Problem("merge_semantics", "the updated conversation")
        return
    plain = [f for f in sent if f not in ("metadata", "messages")]
    wrong = _differences(sent, body, plain)
    if wrong:
        yield Problem("merge_semantics", f"the sent fields as sent ({diff_text(sent, body, wrong, SHOWN)})")
    if "metadata" in sent:
        choices = metadata_choices(
            old.get("metadata") if isinstance(old.get("metadata"), dict) else {}, sent["metadata"]
        )
        if not any(same(body.get("metadata"), value) for _, value in choices):
            named = "; ".join(f"{name}: {show(value, SHOWN)}" for name, value in choices)
            yield Problem("merge_semantics", f"metadata {named} (got {show(body.get('metadata'), 120)})")
    if "messages" in sent and not same(body.get("messages"), sent["messages"]):
        yield Problem(
            "merge_semantics",
            f"messages replaced whole by the {len(sent['messages'])} sent (rule 3),"
            f" got {show(body.get('messages'), 120)}",
        )
    kept = [f for f in (*model.update_fields, "source", "id") if f not in sent]
    changed = _differences(old, body, kept)
    if changed:
        yield Problem(
            "merge_semantics",
            f"fields the update did not send kept as they were (rule 3): {diff_text(old, body, changed, SHOWN)}",
        )


@judges("getConversation")
def read_your_writes(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """A read shows the conversation as the last write left it; a conversation only seen in
    a list reads as listed (when its updatedAt says it was not written in between)."""
    if view.action.op != "getConversation" or not view.answer.ok:
        return
    body = view.answer.body
    conv = view.mine
    if conv is not None and conv.alive:
        if not isinstance(body, dict):
            yield Problem("read_your_writes", "the conversation")
            return
        state = conv.state or {}
        fields = [f for f in state if f not in TIMESTAMPS]
        wrong = _differences(state, body, fields)
        if wrong:
            yield Problem(
                "read_your_writes",
                f"the conversation as step {conv.written_at_step} left it ({diff_text(state, body, wrong, SHOWN)})",
            )
        return
    if view.foreign_id is not None and isinstance(body, dict):
        seen = model.foreign.get((view.sender, view.foreign_id))
        if seen is None or seen.get("updatedAt") != body.get("updatedAt"):
            return
        full = model.summary_of(body)
        shared = [f for f in full if f in seen]
        wrong = _differences(seen, full, shared)
        if wrong:
            yield Problem(
                "read_your_writes",
                f"the conversation as the list showed it, same updatedAt ({diff_text(seen, full, wrong, SHOWN)})",
            )


@judges("listConversations")
def list_matches_model(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """Every listed conversation of ours as the model knows it, the filters applied to each,
    and a walk without writes in between lists every conversation of ours that matches."""
    page = _page(view)
    if page is None:
        return
    items, pagination = page
    params = _listing_params(model, view)
    filters = {k: v for k, v in params.items() if k in model.filters}
    for item in items:
        conv = model.own_conv(view.sender, item["id"]) if isinstance(item.get("id"), str) else None
        wrong_filter = [n for n, v in filters.items() if n in item and not same(item[n], v)]
        if conv is not None and conv.alive:
            expected = model.summary_of(conv.state or {})
            wrong = _differences(expected, item, list(expected))
            if wrong:
                yield Problem(
                    "list_matches_model",
                    f"the list to show the conversation as step {conv.written_at_step} left it"
                    f" ({diff_text(expected, item, wrong, SHOWN)})",
                )
                return
            wrong_filter += [
                n for n in filters if n not in item and not model.matches(conv.state or {}, {n: filters[n]})
            ]
        if wrong_filter:
            yield Problem(
                "list_matches_model",
                f"only conversations matching {show(filters)} (listed {show(item.get('id'))}, which does not match on"
                f" {', '.join(sorted(set(wrong_filter)))})",
            )
            return
    walk = model.walks.get(view.sender)
    has_more = bool(pagination.get("hasMore")) and isinstance(pagination.get("nextCursor"), str)
    if has_more or (view.action.follow and (walk is None or not walk.stable)):
        return
    if view.action.follow and walk is not None:
        seen, since = [*walk.seen, *[str(i.get("id")) for i in items]], walk.started_at_step
    else:
        seen, since = [str(i.get("id")) for i in items], view.step.number
    missing = [
        c
        for c in model.convs.values()
        if c.tenant == view.sender and c.alive and model.matches(c.state or {}, filters) and c.id not in seen
    ]
    if missing:
        yield Problem(
            "list_matches_model",
            f"pages from step {since} to the last to list every conversation of this key matching {show(filters)}:"
            f" the one created at step {missing[0].created_at_step} ({show(missing[0].id)}) is missing",
        )


@judges("listConversations")
def pages_consistent(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """A page holds at most `limit` items, `hasMore` comes with a cursor to follow, and a walk
    without writes in between shows no conversation of ours twice."""
    page = _page(view)
    if page is None:
        return
    items, pagination = page
    params = _listing_params(model, view)
    limit = params.get("limit")
    if isinstance(limit, int) and len(items) > limit:
        yield Problem("pages_consistent", f"at most limit={limit} conversations on a page (got {len(items)})")
    if pagination.get("hasMore") is True and not (
        isinstance(pagination.get("nextCursor"), str) and pagination["nextCursor"]
    ):
        yield Problem("pages_consistent", "a nextCursor to follow when hasMore is true")
    walk = model.walks.get(view.sender)
    if not view.action.follow or walk is None or not walk.stable:
        return
    tagged = params.get("ownerId") in model.owners[view.sender]
    for item in items:
        item_id = item.get("id")
        ours = isinstance(item_id, str) and model.own_conv(view.sender, item_id) is not None
        if item_id in walk.seen and (ours or tagged):
            yield Problem(
                "pages_consistent",
                f"no conversation twice in one walk without writes (from step {walk.started_at_step}):"
                f" {show(item_id)} was on an earlier page",
            )
            return


def tenants_apart(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """One key never sees, changes or deletes another key's conversations (rule 8): its
    answers carry none of the other key's owner tags (the other key's updates always write
    one, so a leaked write shows), and only its own deletes make its conversations go."""
    other = model.other(view.sender)
    for item in _conversations(view):
        owner = item.get("ownerId")
        if owner in model.owners[other] and owner not in model.owners[view.sender]:
            yield Problem(
                "tenants_apart",
                f"no conversation of the other key in this key's answers"
                f" (ownerId {show(owner)} was written by the other key)",
            )
            return
    conv = view.conv
    if view.own and conv is not None and conv.alive and conv.deleted_by_other and view.answer.status == 404:
        yield Problem(
            "tenants_apart",
            f"{' or '.join(sorted(model.success[view.action.op]))}:"
            " only the other key tried to delete this conversation",
        )
        return
    if conv is not None and not view.own and view.twin is None and view.answer.ok and conv.id is not None:
        yield Problem(
            "tenants_apart",
            f"{view.answer.status} for the other key's id, without its data: each key its own id space"
            " (our mock answers 404, rule 8)",
            observation=True,
        )


@judges("createConversation", "getConversation", "updateConversation", "listConversations")
def timestamps(model: RuntypeModel, view: View) -> Iterator[Problem]:
    """createdAt and updatedAt are RFC 3339 timestamps with a zone; createdAt never changes,
    updatedAt never goes back, is never before createdAt, moves on an update made long enough
    after the last stamp, and no read moves it (rules 3, 12)."""
    for item in _conversations(view):
        created, updated = instant(item.get("createdAt")), instant(item.get("updatedAt"))
        if created is None or updated is None:
            yield Problem(
                "timestamps",
                f"createdAt and updatedAt RFC 3339 with a zone, as the documentation's examples"
                f" (got {show(item.get('createdAt'))}, {show(item.get('updatedAt'))})",
            )
            return
        if updated < created:
            yield Problem("timestamps", f"updatedAt {item['updatedAt']} not before createdAt {item['createdAt']}")
            return
        conv = model.own_conv(view.sender, item["id"]) if isinstance(item.get("id"), str) else None
        if conv is None or not conv.alive or (view.action.op == "createConversation"):
            continue
        state = conv.state or {}
        if not same(item.get("createdAt"), state.get("createdAt")):
            yield Problem(
                "timestamps", f"createdAt never to change (was {state.get('createdAt')}, now {item.get('createdAt')})"
            )
            return
        before = instant(state.get("updatedAt"))
        if before is None:
            continue
        if view.action.op == "updateConversation" and conv is view.mine:
            if updated < before:
                yield Problem(
                    "timestamps", f"updatedAt not to go back on an update ({state['updatedAt']} → {item['updatedAt']})"
                )
                return
            if updated == before and view.answer.sent - conv.stamp_seen > RESOLUTION:
                yield Problem(
                    "timestamps",
                    f"updatedAt to move on an update sent {view.answer.sent - conv.stamp_seen:.1f}s after it was"
                    f" stamped {state['updatedAt']} (rule 3)",
                )
                return
        elif not same(item.get("updatedAt"), state.get("updatedAt")):
            yield Problem(
                "timestamps",
                f"no read to move updatedAt: step {conv.written_at_step} left {state.get('updatedAt')},"
                f" now {item.get('updatedAt')}",
            )
            return


# In this order: a step's first failing check is the one reported (a leak shows as a changed
# conversation too, and is named tenants_apart).
CHECKS = [
    not_a_server_error,
    tenants_apart,
    valid_input_accepted,
    create_as_sent,
    own_conversations_reachable,
    deleted_stays_deleted,
    merge_semantics,
    read_your_writes,
    list_matches_model,
    pages_consistent,
    timestamps,
]
