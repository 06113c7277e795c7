"""The behaviour monitor: the proxy watching what the service *does*, not only what each answer
looks like. It links each answer to its request and to what earlier exchanges showed.

`begin` when an exchange is forwarded (a write to a conversation is then in flight), `end`
when its answer is in: the checks of `behaviour_check.py` judge it against the tracker's
picture (`state_tracker.py`), then `learn` records what it tells of the state now — a 2xx
create, update or read shows the conversation; a 2xx delete or a 404 shows it gone; a list
page adds to a walk. `abandon` when no answer came (the write may or may not have happened).
Everything runs on the server's loop between two awaits, so each exchange is seen whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from specs.auth import CredentialProblem, scheme_of
from specs.integers import ascii_int

from .behaviour_check import NOTHING, Seen, contains, key_of, run
from .behaviour_spec import (
    CREATE,
    CURSOR,
    DELETE,
    HAS_MORE,
    LIMIT,
    LIST,
    NEXT_CURSOR,
    PAGE,
    READ,
    UPDATE,
    WRITES,
    OperationFacts,
    check_specs,
    facts_of,
)
from .exchange import UNPARSED, Exchange, Finding
from .state_tracker import MAP_KEYS, TRACKED_IDS, Key, Known, Owner, Token, Tracker, Walk, summary_of, token

_ITEM_WRITES = frozenset({UPDATE, DELETE})


@dataclass(slots=True)
class Watch:
    """An exchange in flight, as the monitor noted it when it was forwarded."""

    facts: OperationFacts
    start: int
    started_at: float
    owner: Owner | None
    key: Key | None  # the conversation it addresses
    spelling: str | None
    write: bool
    changes: int  # the tracker's count of changes when it was forwarded


class Monitor:
    def __init__(self, sole_writer: bool = False, size: int = TRACKED_IDS) -> None:
        check_specs()  # a spec the monitor cannot read stops the start, not a request
        self.sole_writer = sole_writer
        self.tracker = Tracker(size)
        # The last list page judged clean that changed nothing (`_repeated_page`): who asked
        # what, the answer as sent, and the tracker's count of changes then.
        self._page: tuple[Any, ...] | None = None
        self._page_body: bytes | None = None
        self._page_changes = -1

    def begin(self, exchange: Exchange) -> None:
        if exchange.checks is None:
            return
        facts = facts_of(exchange.api, exchange.checks.operation.operation_id)
        credential = exchange.credential
        owner: Owner | None = (exchange.api, credential) if credential is not None else None
        spelling = exchange.path_params.get(facts.id_param) if facts.id_param else None
        key: Key | None = None
        if credential is not None and spelling is not None:
            key = (exchange.api, credential, spelling.lower() if facts.uuid_ids else spelling)
        write = facts.kind in WRITES
        tracker = self.tracker
        if write and owner is not None:
            tracker.write_begins(owner, (key[0], key[2]) if key is not None else None)
        exchange.watch = Watch(facts, tracker.tick(), time.monotonic(), owner, key, spelling, write, tracker.changes)

    def end(self, exchange: Exchange) -> list[Finding]:
        """The answer is in: the behaviour findings of this exchange (also kept on it)."""
        watch = exchange.watch
        if watch is None or exchange.checks is None:
            return []
        exchange.watch = None
        tracker = self.tracker
        if watch.facts.kind is LIST:
            return self._list_page(exchange, watch)
        # Whatever else is answered may change what is tracked (what it shows, its write done,
        # an entry touched): counted, which ends any list page's shortcut (`_repeated_page`).
        tracker.changes += 1
        if self._unchanged_read(exchange, watch):
            return []
        return self._judge(exchange, watch)

    def _judge(self, exchange: Exchange, watch: Watch) -> list[Finding]:
        seen = self._seen(exchange, watch, self.tracker.tick())
        try:
            found = run(seen)
            learn(seen)
        finally:
            self._release(watch, seen.end, forget=False, status=seen.status)
        exchange.behaviour_findings = found
        return found

    def _list_page(self, exchange: Exchange, watch: Watch) -> list[Finding]:
        """A list page is judged in full, unless it repeats the last clean one (`_repeated_page`)."""
        page: tuple[Any, ...] | None = None
        body = exchange.response_body
        if 200 <= exchange.status < 300 and not exchange.request_findings and watch.owner is not None and body:
            page = (watch.facts, watch.owner, exchange.path, exchange.query_string, exchange.status)
            if self._repeated_page(page, body):
                return []
        found = self._judge(exchange, watch)
        if page is not None and not found and self.tracker.changes == watch.changes:
            self._page, self._page_body, self._page_changes = page, body, watch.changes
        return found

    def _repeated_page(self, page: tuple[Any, ...], body: bytes) -> bool:
        """The same list page (the same credential, query and bytes) as the last one judged,
        when nothing tracked changed from that one's forwarding to now, can find nothing.

        Why: that page was judged clean and changed nothing (no change counted from its
        forwarding to the end of its learning), and nothing was counted since. So this one meets
        the very picture that one met: every entry, write in flight, walk and recency order
        alike. Each list check is a function of that picture, the page, its query and the
        credential, and of the exchange's start only through comparisons with sequence numbers
        in the picture, which all predate that page's start (nothing changed after it), so they
        come out alike for a later start (`walk` and `quiet_since` too). Their clean verdict then
        holds again, and learning would change nothing again. A change anywhere in between, by
        any credential (a write begun or answered, a read, a walk continued), ends the shortcut."""
        return page == self._page and self.tracker.changes == self._page_changes and body == self._page_body

    def abandon(self, exchange: Exchange) -> None:
        """No answer came (the upstream failed, timed out or the client left): a write may or
        may not have happened, so what the tracker knew of its conversation is forgotten."""
        watch = exchange.watch
        if watch is None:
            return
        exchange.watch = None
        self.tracker.changes += 1
        self._release(watch, self.tracker.tick(), forget=True)

    def _release(self, watch: Watch, end: int, forget: bool, status: int = 0) -> None:
        if not watch.write or watch.owner is None:
            return
        tracker, key = self.tracker, watch.key
        tracker.write_ends(watch.owner, (key[0], key[2]) if key is not None else None, end)
        if key is None:
            return
        api, credential, item = key
        known = tracker.entries.get(key)
        if known is not None:
            known.last_write_end = end
            if forget:
                known.forget()
        if len(tracker.by_id.get((api, item), ())) < 2:
            return  # no other credential knows it
        for other in tracker.others(api, item, credential):
            # Another credential wrote the same id: the same conversation, or its own namesake.
            other.last_write_end = end
            if forget or not 400 <= status < 500:
                other.forget()

    def _unchanged_read(self, exchange: Exchange, watch: Watch) -> bool:
        """The usual case, judged in one comparison: a 2xx read of a valid request answered with
        the very bytes of the answer the tracker's knowledge rests on, with no write in flight,
        can contradict nothing; it only confirms what is known."""
        facts, key = watch.facts, watch.key
        if facts.kind is not READ or not 200 <= exchange.status < 300 or exchange.request_findings or key is None:
            return False
        known = self.tracker.entries.get(key)
        if (
            known is None
            or known.alive is not True
            or known.whole is None
            or known.spelling != watch.spelling
            or known.ident in self.tracker.writing
            or max(known.last_write_end, known.basis_end) >= watch.start
        ):
            return False
        if exchange.response_body is None or hash(exchange.response_body) != known.raw:
            return False
        end = self.tracker.tick()
        known.basis = known.alive_by = exchange.request_id
        known.basis_end = known.alive_end = end
        self.tracker.entry(key, known.spelling)  # touched: recently seen
        return True

    def _seen(self, exchange: Exchange, watch: Watch, end: int) -> Seen:
        assert exchange.checks is not None
        facts = watch.facts
        ok = 200 <= exchange.status < 300
        known = self.tracker.entries.get(watch.key) if watch.key is not None else None
        if known is not None and known.spelling != watch.spelling:
            known = None  # another spelling of the id: on a case-sensitive server, another one
        credential_problem = None
        if watch.owner is None:
            problem = scheme_of(exchange.api).credential(exchange.headers).problem
            credential_problem = str(problem or CredentialProblem.MISSING)
        wants_body = facts.kind in (CREATE, UPDATE)
        # Positional, in the order Seen declares its fields: half the cost of keywords.
        seen = Seen(
            facts,
            exchange.request_id,
            watch.owner,
            credential_problem,
            watch.key[2] if watch.key is not None else None,
            watch.spelling,
            _single(exchange) if facts.listing is not None else {},
            (
                exchange.request_json
                if exchange.request_json is not UNPARSED or not wants_body
                else _parsed(UNPARSED, exchange.body)
            ),
            exchange.body is not None,
            exchange.status,
            (
                NOTHING
                if not ok
                else exchange.response_json
                if exchange.response_json is not UNPARSED
                else _parsed(UNPARSED, exchange.response_body)
            ),
            exchange.response_body,
            exchange.request_findings,
            watch.start,
            end,
            watch.started_at,
            known,
            self.sole_writer,
            self.tracker,
            ok,
            facts.kind in _ITEM_WRITES,
        )
        if facts.listing is not None and ok and watch.owner is not None:
            _place_in_walk(seen)
        return seen


def _parsed(parsed: Any, body: bytes | None) -> Any:
    """A body as JSON: as a check parsed it already, else parsed now; NOTHING if it is not JSON."""
    if parsed is not UNPARSED:
        return parsed
    if not body:
        return NOTHING
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return NOTHING


def _single(exchange: Exchange) -> dict[str, str]:
    """The query parameters sent once (a repeated one is ambiguous: not judged)."""
    query: Any = exchange.query
    if not hasattr(query, "multi_items"):
        return dict(query)
    pairs = query.multi_items()
    single = dict(pairs)
    if len(single) == len(pairs):
        return single  # the usual case: no name twice
    counts: dict[str, int] = {}
    for name, _ in pairs:
        counts[name] = counts.get(name, 0) + 1
    return {name: value for name, value in pairs if counts[name] == 1}


# --- walks ----------------------------------------------------------------------------------


def _walk_key(seen: Seen, where: Any) -> tuple[Any, ...]:
    assert seen.owner is not None
    return (*seen.owner, where)


def _filters(seen: Seen) -> tuple[tuple[str, str], ...]:
    listing = seen.facts.listing
    assert listing is not None
    return tuple((name, seen.query[name]) for name in listing.filters if name in seen.query)


def _limit(seen: Seen) -> int | None:
    raw = seen.query.get(LIMIT)
    return ascii_int(raw) if raw is not None and len(raw) <= 12 else None


def _place_in_walk(seen: Seen) -> None:
    """Which walk this page continues (or whether it starts one), and whether it ends it."""
    listing = seen.facts.listing
    assert listing is not None
    filters = _filters(seen)
    tracker = seen.tracker
    if listing.cursor:
        cursor = seen.query.get(CURSOR)
        seen.first_page = CURSOR not in seen.query
        if cursor is not None:
            walk = tracker.take_walk(_walk_key(seen, ("cursor", cursor)))
            seen.walk = walk if walk is not None and walk.filters == filters else None
        pagination: Any = seen.answer
        for step in listing.pagination:
            pagination = pagination.get(step) if isinstance(pagination, dict) else None
        if isinstance(pagination, dict):
            has_more, next_cursor = pagination.get(HAS_MORE), pagination.get(NEXT_CURSOR)
            seen.complete = has_more is False or (has_more is None and not next_cursor)
    elif listing.page:
        raw = seen.query.get(PAGE)
        page = ascii_int(raw) if raw is not None and len(raw) <= 12 else None
        seen.first_page = (raw is None and listing.page_default == 1) or page == 1
        if page is not None and page > 1:
            walk = tracker.take_walk(_walk_key(seen, ("page", filters, seen.query.get(LIMIT), page)))
            seen.walk = walk
        limit = _limit(seen)
        size = limit if limit is not None and limit >= 1 else listing.limit_default if LIMIT not in seen.query else None
        items = seen.items()
        if items is not None:
            seen.complete = len(items) == 0 or (size is not None and len(items) < size)
    if seen.walk is None and not seen.first_page:
        seen.complete = False  # a page of a walk the proxy did not follow from its start


def _learn_walk(seen: Seen) -> None:
    listing = seen.facts.listing
    assert listing is not None and seen.owner is not None
    items = seen.items()
    if items is None or (seen.walk is None and not seen.first_page) or seen.complete:
        return
    walk = seen.walk or Walk(_filters(seen), seen.start)
    walk.ids.update(key_of(seen.facts, i["id"]) for i in items if isinstance(i, dict) and isinstance(i.get("id"), str))
    walk.pages.append(seen.request_id)
    tracker = seen.tracker
    if listing.cursor:
        pagination: Any = seen.answer
        for step in listing.pagination:
            pagination = pagination.get(step) if isinstance(pagination, dict) else None
        next_cursor = pagination.get(NEXT_CURSOR) if isinstance(pagination, dict) else None
        if isinstance(next_cursor, str) and next_cursor:
            tracker.keep_walk(_walk_key(seen, ("cursor", next_cursor)), walk)
    else:
        raw = seen.query.get(PAGE)
        page = 1 if raw is None else ascii_int(raw) if len(raw) <= 12 else None
        if page is not None:
            tracker.keep_walk(_walk_key(seen, ("page", walk.filters, seen.query.get(LIMIT), page + 1)), walk)


# --- what an exchange tells of the state ----------------------------------------------------


def learn(seen: Seen) -> None:
    """Record what the answered exchange shows the state now is (after the checks judged it)."""
    facts = seen.facts
    if seen.owner is None:
        return
    kind = facts.kind
    if kind is CREATE:
        answer = seen.answer
        if seen.ok and isinstance(answer, dict) and isinstance(answer.get("id"), str):
            key = (*seen.owner, key_of(facts, answer["id"]))
            _establish(seen, seen.tracker.entry(key, answer["id"]), answer)
    elif kind is LIST:
        if seen.ok:
            _learn_listed(seen)
            _learn_walk(seen)
    elif kind in (READ, UPDATE, DELETE) and seen.item is not None and seen.spelling is not None:
        _learn_item(seen)


def _learn_item(seen: Seen) -> None:
    assert seen.owner is not None and seen.item is not None and seen.spelling is not None
    tracker, kind = seen.tracker, seen.facts.kind
    key: Key = (*seen.owner, seen.item)
    known = tracker.entries.get(key)
    if known is not None and known.spelling != seen.spelling:
        if seen.writes:
            known.forget()  # it may have written the same conversation, or another one
        return
    if seen.ok and kind is DELETE:
        known = tracker.entry(key, seen.spelling)
        _gone(seen, known)
    elif seen.ok:
        answer = seen.answer
        shown_id = answer.get("id") if isinstance(answer, dict) else None
        if isinstance(shown_id, str) and (shown_id.lower() if seen.facts.uuid_ids else shown_id) == seen.item:
            _establish(seen, tracker.entry(key, seen.spelling), answer)
        elif known is not None:
            known.forget()
    elif seen.status == 404:
        if known is not None or seen.writes:
            _gone(seen, known or tracker.entry(key, seen.spelling))
    elif known is not None and seen.writes and seen.status >= 500:
        known.forget()  # a failed write may have been applied, in part or whole


def _gone(seen: Seen, known: Known) -> None:
    if not seen.quiet(known) or known.alive_end > seen.start:
        known.forget()
        return
    known.fields, known.maps = None, {}
    known.alive, known.alive_by, known.alive_end = False, seen.request_id, seen.end


def _establish(seen: Seen, known: Known, answer: dict[str, Any]) -> None:
    """The conversation as this answer shows it (written fields it failed to show: unknown)."""
    facts = seen.facts
    created, updated = seen.stamps()
    if created is not None and created != known.created:
        known.created, known.created_by = created, seen.request_id
    if updated is not None and (known.updated is None or updated >= known.updated):
        known.updated, known.updated_by, known.updated_end = updated, seen.request_id, seen.end
        known.updated_at = time.monotonic()
    quiet = seen.quiet(known) if seen.facts.kind is not CREATE else True
    if not quiet:
        known.forget()
        return
    if known.basis_end > seen.start:
        return  # a newer exchange already showed it
    known.basis, known.basis_end = seen.request_id, seen.end
    known.alive, known.alive_by, known.alive_end = True, seen.request_id, seen.end
    body = seen.body
    known.raw = hash(body) if body is not None else None
    whole = seen.whole()
    if known.fields is not None and whole is not None and whole == known.whole:
        return  # the same as known: the usual case
    sent = seen.sent if isinstance(seen.sent, dict) else {}
    unshown = [name for name in facts.writes if name in sent and not contains(answer.get(name), sent[name])]
    fields: dict[str, Token] = {}
    for name in facts.fields:
        if name in answer and name not in unshown and (value := seen.shown_token(name)) is not None:
            fields[name] = value
    known.fields = fields
    known.whole = None if unshown else whole
    known.listed = None if unshown else summary_of(answer, facts.summary)
    known.maps = {
        name: {k: t for k, v in answer[name].items() if (t := token(v)) is not None}
        for name in facts.maps
        if name in fields and isinstance(answer[name], dict) and len(answer[name]) <= MAP_KEYS
    }


def _learn_listed(seen: Seen) -> None:
    """A listed conversation exists; one whose summary disagrees with what the tracker knew has
    changed in ways a summary cannot show: its other fields are no longer known."""
    for _, known, change in seen.tracked():
        if not seen.quiet(known):
            continue
        if change is not None:
            known.forget()
            seen.tracker.changes += 1
        if known.alive is not True and known.alive_end < seen.start:
            known.alive, known.alive_by, known.alive_end = True, seen.request_id, seen.end
            seen.tracker.changes += 1


__all__ = ["Monitor", "Watch", "learn"]
