"""The systemprompt.io model. The API documents no create and no delete, so a sequence works
on conversations that exist: it reads what lists and reads show (adopting each conversation
the first time it is seen), and writes only the one conversation the run may write (the
`--systemprompt-id`, or the first listed), as the semantics family does.

Allowed choices the model accepts: metadata replaced whole, merged key by key (the mock,
rule 17) or merged as a JSON merge patch; an upper-case uuid finding the same conversation
or none (rule 16); one id space per key (rule 8); a server's own largest page (no maximum is
documented); `page`/`limit` below 1 answered however the server likes (rule 15).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import specs

from ..fixtures import UnaddressableId, fill_path
from .core import (
    TENANTS,
    Action,
    Answer,
    Problem,
    Request,
    Step,
    covers,
    diff_text,
    dumps,
    judges,
    metadata_choices,
    same,
    show,
)

# A metadata key whose values are unique to a tenant's writes: seen by the other key, proof
# that the tenants are not apart.
MARK = "convo-contracts-mark"
FIELDS = ("message", "metadata")  # what a conversation holds; `_link` may name the host

# How much of a field a problem's text shows.
SHOWN = 100


@dataclass
class Known:
    """A conversation a tenant has seen (or may write)."""

    tenant: str
    uuid: str  # lower case: the identity (spellings may differ)
    state: dict[str, Any] | None = None  # message and metadata as last seen
    seen_at_step: int = 0
    written_at_step: int | None = None


@dataclass
class Walk:
    limit: int | None  # None: the documented default
    page: int  # the last page asked for
    seen: list[str]
    started_at_step: int
    first: bool  # started at page 1: a walk to its end then shows every conversation
    stable: bool = True  # no write since it started
    done: bool = False


@dataclass
class View:
    step: Step
    op: specs.Operation
    known: Known | None  # the sender's own view of the addressed conversation
    theirs: Known | None  # the other tenant's conversation of that uuid, when the sender has none
    upper: bool  # the uuid was spelled otherwise than in lower case

    @property
    def action(self) -> Action:
        return self.step.action

    @property
    def answer(self) -> Answer:
        return self.step.answer

    @property
    def sender(self) -> str:
        return self.step.action.tenant


class SystempromptModel:
    api = "systemprompt"

    def __init__(self, writable: str | None = None) -> None:
        spec = specs.load("systemprompt")
        self.spec = spec
        listing = spec.operation("listConversations")
        self.defaults = {p["name"]: p["schema"].get("default") for p in listing.parameters if p["in"] == "query"}
        self.success = {op.operation_id: {s for s in op.statuses if s.startswith("2")} for op in spec.operations}
        self.known: dict[tuple[str, str], Known] = {}
        self.listed: dict[str, list[str]] = {t: [] for t in TENANTS}
        self.walks: dict[str, Walk] = {}
        self.markers: dict[str, set[str]] = {t: set() for t in TENANTS}
        self.writable = writable.lower() if writable else None
        if self.writable:
            self.known[("main", self.writable)] = Known("main", self.writable)

    def candidates(self, tenant: str) -> list[str]:
        """Uuids this tenant may address: what it has seen, and the main key's writable one."""
        seen = [k.uuid for k in self.known.values() if k.tenant == tenant]
        extra = [self.writable] if self.writable and self.writable not in seen else []
        return [*seen, *extra]

    # --- turning actions into requests ------------------------------------------------------

    def wait(self, action: Action, now: float) -> float:
        """Its steps are never late (no check here judges how updatedAt moves)."""
        return 0.0

    def request(self, action: Action, step: int) -> Request | None:
        op = self.spec.operation(action.op)
        if action.op == "listConversations":
            params = dict(action.params)
            if action.follow:
                walk = self.walks.get(action.tenant)
                if walk is None or walk.done:
                    return None
                params = {"page": walk.page + 1} | ({"limit": walk.limit} if walk.limit is not None else {})
            return Request(op.operation_id, op.method, op.path, action.tenant, params=params)
        if action.uuid is None:
            return None
        try:
            path = fill_path(op, action.uuid)
        except UnaddressableId:
            return None
        return Request(
            op.operation_id, op.method, path, action.tenant, body=action.body, has_body=op.request_body is not None
        )

    def view(self, step: Step) -> View:
        action = step.action
        op = self.spec.operation(action.op)
        uuid = action.uuid.lower() if action.uuid else None
        known = self.known.get((action.tenant, uuid)) if uuid else None
        theirs = self.known.get((self.other(action.tenant), uuid)) if uuid and known is None else None
        return View(step, op, known, theirs, bool(action.uuid) and action.uuid != uuid)

    def expectation(self, view: View) -> str:
        action = view.action
        success = " or ".join(sorted(self.success[action.op]))
        if action.op == "listConversations":
            params = self._params(view)
            limit = params.get("limit", self.defaults.get("limit"))
            page = params.get("page", self.defaults.get("page"))
            return f"{success}: page {page} of at most {limit}, each conversation as last seen"
        spelled = " (an upper-case spelling finds the same conversation or none, rule 16)" if view.upper else ""
        if view.known is None:
            if view.theirs is not None:
                return "404 (another key's conversation), or this key's own of that uuid: never the owner's data"
            return success + spelled
        if action.op == "updateConversation":
            return f"{success}: metadata replaced or merged with {show(action.body, 160)}, message kept" + spelled
        if view.known.state is None:
            return success + spelled
        return f"{success} with the conversation as step {view.known.seen_at_step} left it" + spelled

    def _params(self, view: View) -> dict[str, Any]:
        walk = self.walks.get(view.sender)
        if view.action.follow and walk is not None:
            return {"page": walk.page + 1} | ({"limit": walk.limit} if walk.limit is not None else {})
        return dict(view.action.params)

    # --- moving the state ---------------------------------------------------------------------

    def apply(self, view: View) -> None:
        action, answer, number = view.action, view.answer, view.step.number
        if action.op == "updateConversation":
            for walk in self.walks.values():
                walk.stable = False
            body = action.body if isinstance(action.body, dict) else {}
            mark = body.get("metadata", {}).get(MARK) if isinstance(body.get("metadata"), dict) else None
            if isinstance(mark, str):
                self.markers[action.tenant].add(mark)
        if action.op == "listConversations":
            self._apply_list(view, number)
            return
        known = view.known
        if known is None:
            if answer.ok and isinstance(answer.body, dict) and action.uuid:
                known = self.known[(action.tenant, action.uuid.lower())] = Known(action.tenant, action.uuid.lower())
            else:
                return
        if answer.lost and action.op == "updateConversation":
            known.state = None  # unknown until read again
        elif answer.ok and isinstance(answer.body, dict):
            known.state = {f: answer.body.get(f) for f in FIELDS}
            known.seen_at_step = number
            if action.op == "updateConversation":
                known.written_at_step = number

    def _apply_list(self, view: View, number: int) -> None:
        action, answer = view.action, view.answer
        if not answer.ok or not isinstance(answer.body, list):
            return
        items = [i for i in answer.body if isinstance(i, dict) and isinstance(i.get("id"), str)]
        ids = [i["id"].lower() for i in items]
        for item, uuid in zip(items, ids, strict=True):
            known = self.known.get((action.tenant, uuid))
            if known is None:
                known = self.known[(action.tenant, uuid)] = Known(action.tenant, uuid)
            if known.state is None:
                known.state, known.seen_at_step = {f: item.get(f) for f in FIELDS}, number
        self.listed[action.tenant] += [i for i in ids if i not in self.listed[action.tenant]]
        params = self._params(view)
        page, limit = params.get("page", 1), params.get("limit")
        if not _walkable(page, limit):
            return
        walk = self.walks.get(action.tenant)
        if action.follow and walk is not None:
            walk.seen += ids
            walk.page = page
        else:
            walk = self.walks[action.tenant] = Walk(limit, page, ids, number, first=page == 1)
        effective = limit if limit is not None else self.defaults.get("limit")
        walk.done = effective is None or len(ids) < effective

    def cleanup(self) -> list[Action]:
        return []  # nothing is created; the explorer restores the written conversation's metadata

    def other(self, tenant: str) -> str:
        return next(t for t in TENANTS if t != tenant)


def _walkable(page: Any, limit: Any) -> bool:
    """Pages that make a walk: page at least 1, limit at least 1 (or the default)."""
    return isinstance(page, int) and page >= 1 and (limit is None or (isinstance(limit, int) and limit >= 1))


def _items(view: View) -> list[dict[str, Any]] | None:
    if view.action.op != "listConversations" or not view.answer.ok or not isinstance(view.answer.body, list):
        return None
    return [i for i in view.answer.body if isinstance(i, dict)]


def _diff(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    return [f for f in FIELDS if not same(expected.get(f), got.get(f))]


# --- the checks --------------------------------------------------------------------------------


def not_a_server_error(model: SystempromptModel, view: View) -> Iterator[Problem]:
    if view.answer.status is not None and view.answer.status >= 500:
        yield Problem("not_a_server_error", "no 5xx: a server error is never a documented answer")


@judges("updateConversation", "listConversations")
def valid_input_accepted(model: SystempromptModel, view: View) -> Iterator[Problem]:
    """A request whose every value is valid by the spec is not refused."""
    status, action = view.answer.status, view.action
    if status is None or not 400 <= status < 500:
        return
    if action.op == "listConversations":
        params = model._params(view)
        page, limit = params.get("page", 1), params.get("limit")
        if not _walkable(page, limit):
            return  # below 1: the server's choice (rule 15)
        default = model.defaults.get("limit")
        if limit is not None and default is not None and limit > default:
            yield Problem(
                "valid_input_accepted", f"a largest page below limit={limit} of the server's own (not documented)", True
            )
            return
    elif action.op != "updateConversation" or view.known is None or status == 404:
        return
    if status == 413:
        yield Problem("valid_input_accepted", "a body size of the server's own (not documented)", observation=True)
        return
    yield Problem(
        "valid_input_accepted",
        f"{' or '.join(sorted(model.success[action.op]))}: every value sent is valid by the spec's schema"
        f" ({view.op.pointer}), unusual as it may be",
    )


@judges("getConversation", "updateConversation")
def own_conversations_reachable(model: SystempromptModel, view: View) -> Iterator[Problem]:
    """A conversation this key has seen (in its list or a read) can be read and updated."""
    if view.action.op == "listConversations" or view.known is None or view.answer.status != 404:
        return
    if view.upper:
        yield Problem(
            "own_conversations_reachable",
            "an upper-case spelling of a uuid finds nothing: case is left open (rule 16)",
            observation=True,
        )
        return
    yield Problem(
        "own_conversations_reachable",
        f"{' or '.join(sorted(model.success[view.action.op]))}: this key saw the conversation at step"
        f" {view.known.seen_at_step}",
    )


@judges("updateConversation")
def merge_semantics(model: SystempromptModel, view: View) -> Iterator[Problem]:
    """An update merges or replaces metadata with what was sent (rule 17: either) and keeps
    `message` (rule 3)."""
    if view.action.op != "updateConversation" or view.known is None or not view.answer.ok:
        return
    body, sent = view.answer.body, view.action.body if isinstance(view.action.body, dict) else {}
    if not isinstance(body, dict):
        yield Problem("merge_semantics", "the updated conversation")
        return
    if str(body.get("id", "")).lower() != view.known.uuid:
        yield Problem("merge_semantics", f"the conversation updated is the one addressed ({view.known.uuid})")
        return
    state = view.known.state
    metadata = body.get("metadata")
    if isinstance(sent.get("metadata"), dict):
        old = state.get("metadata") if state is not None and isinstance(state.get("metadata"), dict) else None
        choices = metadata_choices(old, sent["metadata"])
        if choices and not any(same(metadata, value) for _, value in choices):
            named = "; ".join(f"{name}: {show(value, SHOWN)}" for name, value in choices)
            yield Problem("merge_semantics", f"metadata {named} (got {show(metadata, 140)})")
            return
        lost = [
            k
            for k, v in sent["metadata"].items()
            if v is not None and not (isinstance(metadata, dict) and k in metadata and covers(metadata[k], v))
        ]
        if lost:
            yield Problem(
                "merge_semantics",
                f"the sent metadata keys {show(lost)} stored as sent, or merged into what they were (got"
                f" {show(metadata, 140)})",
            )
            return
    if state is not None and not same(body.get("message"), state.get("message")):
        yield Problem(
            "merge_semantics",
            f"message kept by a metadata update (rule 3): expected {show(state.get('message'), SHOWN)},"
            f" got {show(body.get('message'), SHOWN)}",
        )


@judges("getConversation")
def read_your_writes(model: SystempromptModel, view: View) -> Iterator[Problem]:
    """A read shows the conversation as the last write (or the last read) left it."""
    if view.action.op != "getConversation" or view.known is None or not view.answer.ok:
        return
    body = view.answer.body
    if not isinstance(body, dict) or str(body.get("id", "")).lower() != view.known.uuid:
        yield Problem("read_your_writes", f"the conversation addressed ({view.known.uuid})")
        return
    state = view.known.state
    if state is None:
        return
    wrong = _diff(state, body)
    if wrong:
        when = view.known.written_at_step or view.known.seen_at_step
        shown = diff_text(state, body, wrong, SHOWN)
        yield Problem("read_your_writes", f"the conversation as step {when} left it ({shown})")


@judges("listConversations")
def list_matches_model(model: SystempromptModel, view: View) -> Iterator[Problem]:
    """Listed conversations as last seen; a walk without writes from page 1 to its end lists
    every conversation this key has seen."""
    items = _items(view)
    if items is None:
        return
    for item in items:
        known = model.known.get((view.sender, str(item.get("id", "")).lower()))
        if known is None or known.state is None:
            continue
        wrong = _diff(known.state, item)
        if wrong:
            when = known.written_at_step or known.seen_at_step
            yield Problem(
                "list_matches_model",
                f"the list to show {known.uuid} as step {when} left it ({diff_text(known.state, item, wrong, SHOWN)})",
            )
            return
    params = model._params(view)
    page, limit = params.get("page", 1), params.get("limit")
    effective = limit if limit is not None else model.defaults.get("limit")
    if not _walkable(page, limit) or effective is None or len(items) >= effective:
        return
    walk = model.walks.get(view.sender)
    if view.action.follow and walk is not None:
        if not (walk.stable and walk.first):
            return
        seen, since = [*walk.seen, *[str(i.get("id", "")).lower() for i in items]], walk.started_at_step
    elif page == 1:
        seen, since = [str(i.get("id", "")).lower() for i in items], view.step.number
    else:
        return
    missing = [
        k for k in model.known.values() if k.tenant == view.sender and k.state is not None and k.uuid not in seen
    ]
    if missing:
        yield Problem(
            "list_matches_model",
            f"pages 1 to the last (from step {since}, no write in between) to list every conversation this key has"
            f" seen: {missing[0].uuid} (seen at step {missing[0].seen_at_step}) is missing",
        )


@judges("listConversations")
def pages_consistent(model: SystempromptModel, view: View) -> Iterator[Problem]:
    """A page holds at most `limit` conversations; walking pages without writes in between
    shows no conversation twice."""
    items = _items(view)
    if items is None:
        return
    params = model._params(view)
    page, limit = params.get("page", 1), params.get("limit")
    if not _walkable(page, limit):
        return
    effective = limit if limit is not None else model.defaults.get("limit")
    if isinstance(effective, int) and len(items) > effective:
        yield Problem("pages_consistent", f"at most limit={effective} conversations on a page (got {len(items)})")
        return
    walk = model.walks.get(view.sender)
    if not view.action.follow or walk is None or not walk.stable:
        return
    for item in items:
        uuid = str(item.get("id", "")).lower()
        if uuid in walk.seen:
            yield Problem(
                "pages_consistent",
                f"no conversation on two pages of one walk without writes (from step {walk.started_at_step}):"
                f" {uuid} was on an earlier page",
            )
            return


def tenants_apart(model: SystempromptModel, view: View) -> Iterator[Problem]:
    """One key never sees or changes another key's conversations (rule 8): its answers carry
    none of the markers the other key wrote (a leaked write shows the same way)."""
    other = model.other(view.sender)
    if view.answer.ok and view.answer.body is not None and model.markers[other]:
        text = dumps(view.answer.body)
        leaked = [m for m in model.markers[other] if m in text]
        if leaked:
            yield Problem(
                "tenants_apart", f"none of the other key's writes in this key's answers (saw {show(leaked[0])})"
            )
            return
    if view.theirs is not None and view.answer.ok:
        yield Problem(
            "tenants_apart",
            f"{view.answer.status} for the other key's uuid, without its data: each key its own id space"
            " (our mock answers 404, rule 8)",
            observation=True,
        )


# In this order: a step's first failing check is the one reported (a leak shows as a changed
# conversation too, and is named tenants_apart).
CHECKS = [
    not_a_server_error,
    tenants_apart,
    valid_input_accepted,
    own_conversations_reachable,
    merge_semantics,
    read_your_writes,
    list_matches_model,
    pages_consistent,
]
