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
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from specs.auth import CredentialProblem, scheme_of
from specs.integers import ascii_int

from .behaviour_check import (
    NOTHING,
    Seen,
    contains,
    key_of,
    moment,
    run,
    shows_every_write,
    stamps_in_order,
    whole_of,
)
from .behaviour_spec import (
    CREATE,
    CREATED_AT,
    CURSOR,
    DELETE,
    HAS_MORE,
    LIMIT,
    LIST,
    NEXT_CURSOR,
    OTHER,
    PAGE,
    READ,
    UPDATE,
    UPDATED_AT,
    Kind,
    OperationFacts,
    check_specs,
    facts_of,
)
from .exchange import UNPARSED, Exchange, Finding
from .state_tracker import MAP_KEYS, TRACKED_IDS, Key, Known, Owner, Token, Tracker, Walk, summary_of, token

_BODIES = frozenset({CREATE, UPDATE})  # the operations whose request body is read

# An exchange in flight, as the monitor noted it when it was forwarded: its operation's facts,
# its start (sequence) and monotonic time, its owner, the conversation it addresses (key, and
# the id as spelled), the tracker's count of changes then. A plain tuple: made and read on
# every exchange, and a tuple is the cheapest thing to make.
Watch = tuple[OperationFacts, int, float, Owner | None, Key | None, str | None, int]


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
        checks = exchange.checks
        if checks is None:
            return
        api = exchange.api
        facts = facts_of(api, checks.operation.operation_id)
        credential = exchange.credential
        spelling = exchange.path_params.get(facts.id_param) if facts.id_param else None
        owner: Owner | None = None
        key: Key | None = None
        if credential is not None:
            owner = (api, credential)
            if spelling is not None:
                key = (api, credential, spelling.lower() if facts.uuid_ids else spelling)
        tracker = self.tracker
        if facts.write and owner is not None:
            tracker.write_begins(owner, (api, key[2]) if key is not None else None)
        exchange.watch = (facts, tracker.tick(), time.monotonic(), owner, key, spelling, tracker.changes)

    def end(self, exchange: Exchange) -> list[Finding]:
        """The answer is in: the behaviour findings of this exchange (also kept on it)."""
        watch: Watch | None = exchange.watch
        if watch is None or exchange.checks is None:
            return []
        exchange.watch = None
        kind = watch[0].kind
        if kind is LIST:
            return self._list_page(exchange, watch)
        # Whatever else is answered may change what is tracked (what it shows, its write done,
        # an entry touched): counted, which ends any list page's shortcut (`_repeated_page`).
        self.tracker.changes += 1
        if kind is READ and self._unchanged_read(exchange, watch):
            return []
        if kind is UPDATE and self._overlapping_update(exchange, watch):
            return []
        return self._judge(exchange, watch)

    def _judge(self, exchange: Exchange, watch: Watch) -> list[Finding]:
        facts, start, started_at, owner, key, spelling, _ = watch
        tracker = self.tracker
        end = tracker.tick()
        try:
            seen = self._seen(exchange, facts, start, started_at, owner, key, spelling, end)
            found = run(seen)
            _LEARN[facts.kind](seen)
        finally:
            if owner is not None and facts.write:
                self._release(watch, end, False, exchange.status)
        exchange.behaviour_findings = found
        return found

    def _list_page(self, exchange: Exchange, watch: Watch) -> list[Finding]:
        """A list page is judged in full, unless it repeats the last clean one (`_repeated_page`)."""
        page: tuple[Any, ...] | None = None
        body = exchange.response_body
        facts, owner, changes = watch[0], watch[3], watch[6]
        if 200 <= exchange.status < 300 and not exchange.request_findings and owner is not None and body:
            page = (facts, owner, exchange.path, exchange.query_string, exchange.status)
            if self._repeated_page(page, body):
                return []
        found = self._judge(exchange, watch)
        if page is not None and not found and self.tracker.changes == changes:
            self._page, self._page_body, self._page_changes = page, body, changes
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
        watch: Watch | None = exchange.watch
        if watch is None:
            return
        exchange.watch = None
        self.tracker.changes += 1
        if watch[3] is not None and watch[0].write:
            self._release(watch, self.tracker.tick(), True)

    def _release(self, watch: Watch, end: int, forget: bool, status: int = 0) -> None:
        """A write (with a credential) is over: no longer in flight; what it may have changed,
        known by any credential, rests on its end (`Tracker.write_ends`)."""
        owner, key = watch[3], watch[4]
        assert owner is not None
        self.tracker.write_ends(owner, (key[0], key[2]) if key is not None else None, end, key, forget, status)

    def _unchanged_read(self, exchange: Exchange, watch: Watch) -> bool:
        """The usual case, decided at once: a 2xx read of a valid request answered with the very
        bytes of the answer the tracker's knowledge rests on, with no write in flight or answered
        since it began, shows the fields and existence that answer showed: no check can find a
        difference there. Its stamps, the basis's, are asked as `timestamps` asks them
        (`stamps_in_order`): the tracker may know a later updatedAt than its basis showed.

        It learns what the whole way (`_establish`) learns from it: its stamps; and, unless a
        read that began after it already rests the knowledge (reads answered out of order), that
        the knowledge rests on it. A read that overlapped a write takes the whole way, which
        forgets what was known (it may show the state before that write)."""
        _, start, _, _, key, spelling, _ = watch
        if not 200 <= exchange.status < 300 or exchange.request_findings or key is None:
            return False
        tracker = self.tracker
        known = tracker.entries.get(key)
        if (
            known is None
            or known.fields is None  # (known only while it exists)
            or known.whole is None
            or known.spelling != spelling
            or known.ident in tracker.writing
            or known.last_write_end >= start
        ):
            return False
        if exchange.response_body is None or hash(exchange.response_body) != known.raw:
            return False
        created, updated = known.raw_stamps  # the same bytes: the same stamps
        if not stamps_in_order(known, created, updated, start, False):
            return False
        end = tracker.tick()
        _learn_stamps(known, created, updated, exchange.request_id, end)
        if known.basis_end < start:
            known.basis = known.alive_by = exchange.request_id
            known.basis_end = known.alive_end = end
        tracker.touch(key)
        return True

    def _overlapping_update(self, exchange: Exchange, watch: Watch) -> bool:
        """An update overlapping another write to the same conversation (one in flight, or one
        answered since this one was forwarded), judged and learnt without the rest.

        Its answer may show the other write's outcome too, so nothing is held to what the tracker
        knew of the fields or of existence (the checks that do ask `calm`). What it must still
        show is its own: every field sent (`update_shows_request`, asked here through
        `shows_every_write`), createdAt as known and updatedAt not behind one known before it
        (`timestamps`, through `stamps_in_order`); existence is held only across a quiet
        exchange. A 2xx answer to a valid request, with the id asked, that passes both, can be
        found at fault by no update check; learning then keeps its stamps and forgets the rest,
        as `_establish` does for a write that was not quiet. Anything else takes the whole way
        (`_judge`)."""
        facts, start, _, owner, key, spelling, _ = watch
        if key is None or owner is None or exchange.request_findings or not 200 <= exchange.status < 300:
            return False
        tracker = self.tracker
        known = tracker.entries.get(key)
        if known is None or known.spelling != spelling:
            return False
        if tracker.writing.get(known.ident, 0) == 1 and known.last_write_end < start:
            return False  # no other write overlaps it: judged in full
        answer, sent = exchange.response_json, exchange.request_json
        if answer.__class__ is not dict or sent.__class__ is not dict:
            return False
        shown_id = answer.get("id")
        if shown_id.__class__ is not str or key_of(facts, shown_id) != key[2]:
            return False
        created = updated = None
        if facts.stamped:
            created, updated = moment(answer.get(CREATED_AT)), moment(answer.get(UPDATED_AT))
            if not stamps_in_order(known, created, updated, start, True):
                return False
        if not shows_every_write(facts, sent, answer):
            return False
        end = tracker.tick()
        _learn_stamps(known, created, updated, exchange.request_id, end)
        known.forget()
        tracker.touch(key)
        tracker.write_ends(owner, known.ident, end, key, False, exchange.status)  # as `_release` does
        return True

    def _seen(
        self,
        exchange: Exchange,
        facts: OperationFacts,
        start: int,
        started_at: float,
        owner: Owner | None,
        key: Key | None,
        spelling: str | None,
        end: int,
    ) -> Seen:
        status = exchange.status
        ok = 200 <= status < 300
        tracker = self.tracker
        known = tracker.entries.get(key) if key is not None else None
        if known is not None and known.spelling != spelling:
            known = None  # another spelling of the id: on a case-sensitive server, another one
        credential_problem = None
        if owner is None:
            problem = scheme_of(exchange.api).credential(exchange.headers).problem
            credential_problem = str(problem or CredentialProblem.MISSING)
        sent = exchange.request_json
        if sent is UNPARSED and facts.kind in _BODIES:
            sent = _parsed(UNPARSED, exchange.body)
        answer = NOTHING
        whole = created = updated = None
        if ok:
            answer = exchange.response_json
            if answer is UNPARSED:
                answer = _parsed(UNPARSED, exchange.response_body)
            if facts.shows_item and isinstance(answer, dict):
                whole = whole_of(facts, answer)
                if facts.stamped:
                    created, updated = moment(answer.get(CREATED_AT)), moment(answer.get(UPDATED_AT))
        writes = facts.writes_item
        # `quiet(known)`: no other write to it in flight (this one's own, if it writes, is one in
        # `writing`), none answered since this one's start.
        calm = (
            known is not None
            and tracker.writing.get(known.ident, 0) == (1 if writes else 0)
            and known.last_write_end < start
        )
        # Positional, in the order Seen declares its fields: half the cost of keywords.
        seen = Seen(
            facts,
            exchange.request_id,
            owner,
            credential_problem,
            key[2] if key is not None else None,
            key,
            spelling,
            _single(exchange) if facts.listing is not None else {},
            sent,
            exchange.body is not None,
            status,
            answer,
            exchange.response_body,
            exchange.request_findings,
            start,
            end,
            started_at,
            known,
            self.sole_writer,
            tracker,
            ok,
            writes,
            calm,
            whole,
            created,
            updated,
        )
        if facts.listing is not None and ok and owner is not None:
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
    _LEARN[seen.facts.kind](seen)


def _learn_created(seen: Seen) -> None:
    answer, owner = seen.answer, seen.owner
    if owner is not None and seen.ok and isinstance(answer, dict) and isinstance(answer.get("id"), str):
        key = (*owner, key_of(seen.facts, answer["id"]))
        _establish(seen, seen.tracker.entry(key, answer["id"]), answer)


def _learn_list(seen: Seen) -> None:
    if seen.owner is not None and seen.ok:
        _learn_listed(seen)
        _learn_walk(seen)


def _learn_item(seen: Seen) -> None:
    """A read, update or delete of the conversation its path names."""
    key, spelling = seen.key, seen.spelling
    if key is None or spelling is None:
        return  # no credential (or no id): nothing to learn for anyone
    tracker, kind = seen.tracker, seen.facts.kind
    known = seen.known  # the entry, spelled alike (the checks changed nothing in the tracker)
    if known is None:
        known = tracker.entries.get(key)  # none, or one spelled otherwise
        if known is not None and known.spelling != spelling:
            if seen.writes:
                known.forget()  # it may have written the same conversation, or another one
            return
    if seen.ok and kind is DELETE:
        known = tracker.entry(key, spelling)
        _gone(seen, known)
    elif seen.ok:
        answer = seen.answer
        shown_id = answer.get("id") if isinstance(answer, dict) else None
        if isinstance(shown_id, str) and (shown_id.lower() if seen.facts.uuid_ids else shown_id) == key[2]:
            _establish(seen, tracker.entry(key, spelling), answer)
        elif known is not None:
            known.forget()
    elif seen.status == 404:
        if known is not None or seen.writes:
            _gone(seen, known or tracker.entry(key, spelling))
    elif known is not None and seen.writes and seen.status >= 500:
        known.forget()  # a failed write may have been applied, in part or whole


def _learn_nothing(seen: Seen) -> None:
    """An operation that is not about conversations tells nothing of them."""


def _gone(seen: Seen, known: Known) -> None:
    if not seen.quiet(known) or known.alive_end > seen.start:
        known.forget()
        return
    known.fields, known.maps = None, {}
    known.alive, known.alive_by, known.alive_end = False, seen.request_id, seen.end


def _establish(seen: Seen, known: Known, answer: dict[str, Any]) -> None:
    """The conversation as this answer shows it (written fields it failed to show: unknown)."""
    facts = seen.facts
    _learn_stamps(known, seen.created, seen.updated, seen.request_id, seen.end)
    # Quiet: a created one is new to the tracker; the entry the checks read, worked out once.
    quiet = seen.calm if known is seen.known else facts.kind is CREATE or seen.quiet(known)
    if not quiet:
        known.forget()
        return
    if known.basis_end > seen.start:
        return  # a newer exchange already showed it
    known.basis, known.basis_end = seen.request_id, seen.end
    known.alive, known.alive_by, known.alive_end = True, seen.request_id, seen.end
    body = seen.body
    known.raw = hash(body) if body is not None else None
    known.raw_stamps = (seen.created, seen.updated)
    whole = seen.whole
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


def _learn_stamps(known: Known, created: datetime | None, updated: datetime | None, by: int, end: int) -> None:
    """The timestamps an answer showed (exchange `by`, ended at `end`): createdAt as shown,
    updatedAt the latest shown. They hold whatever else the exchange tells."""
    if created is not None and created != known.created:
        known.created, known.created_by = created, by
    if updated is not None and (known.updated is None or updated >= known.updated):
        known.updated, known.updated_by, known.updated_end = updated, by, end
        known.updated_at = time.monotonic()


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


# What each kind of exchange tells of the state, looked up once per exchange.
_LEARN: dict[Kind, Callable[[Seen], None]] = {
    CREATE: _learn_created,
    LIST: _learn_list,
    READ: _learn_item,
    UPDATE: _learn_item,
    DELETE: _learn_item,
    OTHER: _learn_nothing,
}

__all__ = ["Monitor", "Watch", "learn"]
