"""The behaviour monitor's checks: each answer held to its own request, and to what earlier
exchanges showed of the state. Small named functions in one registry, `BEHAVIOUR_CHECKS`.

Each check reads one `Seen` exchange and the tracker's picture *before* it, and returns the
`Finding`s that name the exchanges they rest on (`rests_on`, journal requestIds). The verdicts
follow the suite's evidence rules:

- a **violation** needs no assumption: the answer breaks the spec or contradicts its own
  request (invalid input answered 2xx, a write the answer does not show, a filter or `limit`
  the page ignores, `createdAt` changed, `updatedAt` gone back or standing still on an update);
- a **state contradiction** (a later read that does not show an earlier write, a deleted
  conversation served, a created one missing from a whole walk of the list, pages that repeat)
  could be explained by a write the proxy did not see: an observation, unless `--sole-writer`;
- where `docs/behaviour.md` or the specs' `x-rule`s leave the choice open (merged or replaced
  `metadata`, the list's order, its default page size, which 4xx refuses a bad key on
  systemprompt.io), another choice is no finding at all, or an observation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from specs.integers import ascii_int
from specs.text import shorten
from specs.timestamps import RESOLUTION, instant

from .behaviour_spec import (
    CREATE,
    CREATED_AT,
    DELETE,
    LIMIT,
    LIST,
    READ,
    UPDATE,
    UPDATED_AT,
    Kind,
    OperationFacts,
)
from .exchange import UNPARSED, Finding
from .state_tracker import Key, Known, Owner, Token, Tracker, Walk, shown, summary_of, token

NOTHING: Any = UNPARSED  # no JSON body (none, not JSON, or not held)
_REFUSED = frozenset({400, 422})
_ITEM_WRITES = frozenset({UPDATE, DELETE})
# The same stamps come back in answer after answer (each read, each list page): read once each,
# at most this many remembered (then they start over).
_MOMENTS: dict[str, datetime | None] = {}
_MOMENTS_KEPT = 4096


def moment(value: Any) -> datetime | None:
    """A timestamp as a moment in time (None when it is not one), read once per text."""
    if not isinstance(value, str):
        return None
    found: datetime | None = _MOMENTS.get(value, NOTHING)  # asked, not caught: an update's updatedAt is new each time
    if found is NOTHING:
        if len(_MOMENTS) >= _MOMENTS_KEPT:
            _MOMENTS.clear()
        found = _MOMENTS[value] = instant(value)
    return found


Stamps = tuple[datetime | None, datetime | None]


def whole_of(facts: OperationFacts, answer: dict[str, Any]) -> int | None:
    """A quick token of a conversation's documented fields at once (`token_of`'s kind: equal
    means equal, unequal is looked at field by field); None when they cannot be written."""
    try:
        try:  # the usual case, all of them there: their values at once (one C call)
            shown_values: Any = facts.pick(answer)
        except KeyError:
            shown_values = {name: answer[name] for name in facts.fields if name in answer}
        return hash(orjson.dumps(shown_values))
    except orjson.JSONEncodeError:
        return None


_EXCERPT = 80


@dataclass(slots=True)
class Seen:
    """One answered exchange as the checks see it, with the tracker's picture before it."""

    facts: OperationFacts
    request_id: int
    owner: Owner | None  # (api, credential); None: the request carried no valid credential
    credential_problem: str | None  # why there is none: missing, malformed
    item: str | None  # the conversation id as compared (lower case for uuids)
    key: Key | None  # (api, credential, item): the tracker's key for it, when both are known
    spelling: str | None  # as the request spelled it
    query: Mapping[str, str]  # single-valued query parameters
    sent: Any  # the request body, parsed; NOTHING when none was held or it is not JSON
    body_checked: bool  # the request (body included) went through the request checks
    status: int
    answer: Any  # the answer, parsed; NOTHING when not JSON or not held
    body: bytes | None  # the answer as sent (decoded), when held
    request_findings: Sequence[Finding]
    start: int
    end: int
    started_at: float  # monotonic seconds
    known: Known | None  # the tracker's entry for `item` (None: unknown, or spelled otherwise)
    sole_writer: bool
    tracker: Tracker
    ok: bool  # a 2xx answer
    writes: bool  # it writes the conversation its path names (an update, a delete)
    # Worked out once when it is made, read by several checks and by learning (nothing in the
    # exchange's end changes them):
    calm: bool  # `quiet(known)` (False without a known entry)
    # For a 2xx answer that is the conversation (else None): `whole_of` it, its timestamps.
    whole: int | None
    created: datetime | None
    updated: datetime | None
    walk: Walk | None = None  # the list walk this page continues
    first_page: bool = False
    complete: bool = False  # the walk is whole with this page (the last page came)
    # What the checks and the tracker both read of the answer, worked out once when asked.
    _tokens: dict[str, Token | None] | None = None
    _items: Any = UNPARSED
    _tracked: list[tuple[dict[str, Any], Known, str | None]] | None = None

    def items(self) -> list[Any] | None:
        """A list answer's items (None when it has none where the spec puts them)."""
        if self._items is UNPARSED:
            self._items = items_of(self)
        items: list[Any] | None = self._items
        return items

    def tracked(self) -> list[tuple[dict[str, Any], Known, str | None]]:
        """The listed items whose conversation the tracker knows (spelled as it knows it), each
        with the first field it shows otherwise than known (`summary_change`)."""
        if self._tracked is None:
            self._tracked = []
            if self.owner is not None:
                api, credential = self.owner
                get, uuids = self.tracker.entries.get, self.facts.uuid_ids
                for item in self.items() or ():
                    ident = item.get("id") if isinstance(item, dict) else None
                    if isinstance(ident, str):
                        known = get((api, credential, ident.lower() if uuids else ident))
                        if known is not None and known.spelling == ident:
                            self._tracked.append((item, known, summary_change(self.facts, item, known)))
        return self._tracked

    def shown_token(self, name: str) -> Token | None:
        """The token of the answer's field `name` (which it has)."""
        tokens = self._tokens
        if tokens is None:
            tokens = self._tokens = {}
        elif name in tokens:
            return tokens[name]
        found = tokens[name] = token(self.answer[name])
        return found

    def quiet(self, known: Known, start: int | None = None) -> bool:
        """No other write to `known`'s conversation in flight or answered since `start` (this
        exchange's by default)."""
        if start is None:
            if known is self.known:
                return self.calm  # worked out when it was made
            start = self.start
        own = 1 if self.writes and known.ident == (self.facts.op.api, self.item) else 0
        return self.tracker.writing.get(known.ident, 0) == own and known.last_write_end < start

    def violation(self, rule: str, pointer: str, message: str, value: Any, rests_on: tuple[int, ...] = ()) -> Finding:
        return Finding(rule, pointer, message, value, False, rests_on)

    def observation(self, rule: str, pointer: str, message: str, value: Any, rests_on: tuple[int, ...] = ()) -> Finding:
        return Finding(rule, pointer, message, value, True, rests_on)

    def contradiction(self, rule: str, pointer: str, message: str, value: Any, rests_on: tuple[int, ...]) -> Finding:
        """A state contradiction: a write the proxy did not see could explain it, so it is a
        violation only when the proxy is the only writer (`--sole-writer`)."""
        why = "" if self.sole_writer else " (a write the proxy did not see could explain it)"
        return Finding(rule, pointer, message + why, value, not self.sole_writer, rests_on)


def _text(value: Any) -> str:
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        text = "(a value too deep to show)"
    return shorten(text, _EXCERPT)


def _refs(ids: Sequence[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)


def shows(shown_value: Any, sent: Any) -> bool:
    """`contains`, a text sent (the usual case) compared at once: for a str, `contains` is `==`
    (a bool is never equal to a str)."""
    return (shown_value == sent) if sent.__class__ is str else contains(shown_value, sent)


def shows_every_write(facts: OperationFacts, sent: dict[str, Any], answer: dict[str, Any]) -> bool:
    """Whether the answer shows every documented field the request wrote (`update_shows_request`
    finds nothing)."""
    writes = facts.writes
    for name, value in sent.items():  # noqa: SIM110 (a loop, not all() over a generator: one frame fewer)
        if name in writes and not shows(answer.get(name), value):
            return False
    return True


def contains(shown_value: Any, sent: Any) -> bool:
    """Whether an answer shows a sent value: equal, an object with every sent key (the server
    may add its own, e.g. a message's `timestamp`), a list item by item. Booleans are not numbers."""
    if isinstance(sent, dict):
        return isinstance(shown_value, dict) and all(
            k in shown_value and contains(shown_value[k], v) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(shown_value, list)
            and len(shown_value) == len(sent)
            and all(contains(a, b) for a, b in zip(shown_value, sent, strict=True))
        )
    return isinstance(shown_value, bool) == isinstance(sent, bool) and shown_value == sent


def items_of(seen: Seen) -> list[Any] | None:
    """A list answer's items, None when it has none where the spec puts them."""
    listing = seen.facts.listing
    node = seen.answer
    if listing is None:
        return None
    for step in listing.items:
        node = node.get(step) if isinstance(node, dict) else None
    return node if isinstance(node, list) else None


def key_of(facts: OperationFacts, item_id: str) -> str:
    return item_id.lower() if facts.uuid_ids else item_id


# --- the request and its answer -------------------------------------------------------------


def accepted_invalid_input(seen: Seen) -> list[Finding]:
    """A request that breaks the spec answered 2xx: the server accepted what it must refuse."""
    out: list[Finding] = []
    if not seen.ok:
        return out
    for found in seen.request_findings:
        if found.rule == "unknownOperation":
            continue  # a method or path the docs do not list may exist: not the server's fault
        out.append(
            seen.violation(
                "acceptedInvalidInput",
                found.pointer,
                f"answered {seen.status} to a request that breaks the spec ({found.rule}): {found.message}",
                found.value,
            )
        )
    return out


def credential_required(seen: Seen) -> list[Finding]:
    """The spec requires a credential: without one (or with a malformed one), 2xx is a
    violation, and a 4xx other than 401 too where the 401 is documented (rule 7)."""
    out: list[Finding] = []
    facts = seen.facts
    if not facts.secured or seen.owner is not None or seen.status >= 500:
        return out
    pointer = facts.pointer("security")
    what = f"a request with {'no' if seen.credential_problem == 'missing' else 'a malformed'} credential"
    if seen.ok:
        out.append(
            seen.violation(
                "credentialRequired", pointer, f"answered {seen.status} to {what}: the spec requires one", seen.status
            )
        )
    elif 400 <= seen.status < 500 and seen.status != 401 and not seen.request_findings:
        if facts.credential_status_open:
            out.append(
                seen.observation(
                    "credentialRequired",
                    pointer,
                    f"refused {what} with {seen.status}, where our mock answers 401 "
                    "(the documentation names no status)",
                    seen.status,
                )
            )
        else:
            out.append(
                seen.violation(
                    "credentialRequired",
                    pointer,
                    f"answered {seen.status} to {what}: expected 401 (rule 7)",
                    seen.status,
                )
            )
    return out


def refused_valid_input(seen: Seen) -> list[Finding]:
    """A request valid by the spec refused with 400/422: a constraint the docs do not state, an
    observation as in the suite (the server may know more than the spec says)."""
    out: list[Finding] = []
    if seen.status not in _REFUSED or seen.request_findings or not seen.body_checked or seen.owner is None:
        return out
    out.append(
        seen.observation(
            "undocumentedConstraint",
            seen.facts.pointer(),
            f"refused with {seen.status} a request valid by the spec (an undocumented constraint)",
            seen.status,
        )
    )
    return out


def create_shows_request(seen: Seen) -> list[Finding]:
    """Create answers the conversation it made: every field sent, the documented default of
    every field left out."""
    out: list[Finding] = []
    facts = seen.facts
    if facts.kind is not CREATE or not seen.ok or not isinstance(seen.answer, dict):
        return out
    if seen.request_findings:
        return out  # accepted_invalid_input's finding
    sent = seen.sent if isinstance(seen.sent, dict) else {}
    answer = seen.answer
    for name in facts.writes:
        if name in sent:
            if not contains(answer.get(name), sent[name]):
                out.append(
                    seen.violation(
                        "writeShown",
                        facts.body_pointer(name),
                        f"create answered {name}={_text(answer.get(name))}; the request sent {_text(sent[name])}",
                        answer.get(name),
                    )
                )
        elif name in facts.defaults and seen.sent is not NOTHING and not _same(answer.get(name), facts.defaults[name]):
            out.append(
                seen.violation(
                    "defaultApplied",
                    facts.body_pointer(name, "default"),
                    f"create without {name} answered {name}={_text(answer.get(name))}; the documented "
                    f"default is {_text(facts.defaults[name])}",
                    answer.get(name),
                )
            )
    return out


def update_shows_request(seen: Seen) -> list[Finding]:
    """Update answers the conversation as it now is: every field sent shows (a free-form object
    at least with the keys sent: merged or replaced is open, rules 3 and 17)."""
    out: list[Finding] = []
    facts = seen.facts
    if facts.kind is not UPDATE or not seen.ok or not isinstance(seen.answer, dict):
        return out
    if not isinstance(seen.sent, dict) or seen.request_findings:
        return out
    writes, answer = facts.writes, seen.answer
    for name, value in seen.sent.items():
        if name not in writes or shows(answer.get(name), value):
            continue
        out.append(
            seen.violation(
                "writeShown",
                facts.body_pointer(name),
                f"update answered {name}={_text(answer.get(name))}; the request sent {_text(value)}",
                answer.get(name),
            )
        )
    return out


def update_keeps_the_rest(seen: Seen) -> list[Finding]:
    """An update is partial (rule 3): a field it was not sent keeps the value the last exchange
    showed; of a free-form object sent in part, a key not sent is kept or dropped, never changed."""
    out: list[Finding] = []
    facts, known = seen.facts, seen.known
    if facts.kind is not UPDATE or not seen.ok or not isinstance(seen.answer, dict):
        return out
    if not isinstance(seen.sent, dict) or known is None or known.fields is None or not seen.calm:
        return out
    if known.basis_end >= seen.start or (known.whole is not None and known.whole == seen.whole):
        return out  # (the second: nothing changed at all, not even what was sent)
    answer = seen.answer
    # (what changed, the value the last exchange showed, the value now)
    changed: list[tuple[str, Token, Any]] = [
        (name, was, answer[name])
        for name, was in known.fields.items()
        if name not in seen.sent and name in answer and seen.shown_token(name) != was
    ]
    for name in facts.maps & seen.sent.keys():
        before, now, sent = known.maps.get(name), answer.get(name), seen.sent[name]
        if before is None or not isinstance(now, dict) or not isinstance(sent, dict):
            continue
        changed += [(f"{name}.{k}", v, now[k]) for k, v in before.items() if k not in sent and _differs(now, k, v)]
    if changed:
        what, was, now_value = changed[0]
        out.append(
            seen.contradiction(
                "partialUpdate",
                facts.body_pointer(),
                f"update changed {', '.join(c[0] for c in changed[:5])}, which it was not sent: {what} is "
                f"{_text(now_value)}, #{known.basis} showed {shorten(shown(was), _EXCERPT)} "
                "(rule 3: absent fields keep their values)",
                now_value,
                (known.basis,),
            )
        )
    return out


def _same(a: Any, b: Any) -> bool:
    return token(a) == token(b)


def _differs(shown_now: dict[str, Any], key: str, was: Token) -> bool:
    return key in shown_now and token(shown_now[key]) != was


def timestamps(seen: Seen) -> list[Finding]:
    """`createdAt` never changes; `updatedAt` never goes back, and moves forward on every update
    (rule 3): equal stamps are proof only when the two were taken more than RESOLUTION apart."""
    facts, known = seen.facts, seen.known
    if not facts.timestamps or not seen.ok or known is None or not isinstance(seen.answer, dict):
        return []
    if stamps_in_order(known, seen.created, seen.updated, seen.start, facts.kind is UPDATE):
        return []
    return _timestamps_of(seen, seen.answer, (seen.created, seen.updated), known, facts.kind is UPDATE, None)


def stamps_in_order(known: Known, created: datetime | None, updated: datetime | None, start: int, update: bool) -> bool:
    """The usual case, decided at once: no rule of `_timestamps_of` can fire. createdAt is as
    known (or either is not known); and updatedAt is later than known, or either is not known,
    or the one known came from an exchange that ended after `start` (nothing is held to it), or
    it is the same on an exchange that is not an `update` (only an update must move it)."""
    if created is not None and known.created is not None and created != known.created:
        return False
    if updated is None or known.updated is None or updated > known.updated or known.updated_end >= start:
        return True
    return not update and updated == known.updated


def _timestamps_of(
    seen: Seen,
    shown_value: dict[str, Any],
    stamps: Stamps,
    known: Known,
    update: bool,
    item_pointer: Callable[[str], str] | None,
) -> list[Finding]:
    """`item_pointer`: where a list item's field is written (None: the answer's own)."""
    out: list[Finding] = []
    created, updated = stamps
    if known.created is not None and created is not None and created != known.created:
        out.append(
            seen.violation(
                "createdAtFixed",
                _stamp_pointer(seen, item_pointer, CREATED_AT),
                f"createdAt is {shown_value.get(CREATED_AT)}, not {known.created.isoformat()} as #{known.created_by} "
                "showed: it never changes (rule 3)",
                shown_value.get(CREATED_AT),
                (known.created_by,),
            )
        )
    if known.updated is None or updated is None or known.updated_end >= seen.start:
        return out
    if updated < known.updated:
        out.append(
            seen.violation(
                "updatedAtMoves",
                _stamp_pointer(seen, item_pointer, UPDATED_AT),
                f"updatedAt went back to {shown_value.get(UPDATED_AT)} from {known.updated.isoformat()}, which "
                f"#{known.updated_by} showed (rule 3: it only moves forward)",
                shown_value.get(UPDATED_AT),
                (known.updated_by,),
            )
        )
    elif update and updated == known.updated and seen.started_at - known.updated_at >= RESOLUTION:
        out.append(
            seen.violation(
                "updatedAtMoves",
                _stamp_pointer(seen, item_pointer, UPDATED_AT),
                f"updatedAt stayed {shown_value.get(UPDATED_AT)} on an update "
                f"{seen.started_at - known.updated_at:.1f} s after #{known.updated_by} showed it "
                "(rule 3: it moves forward on every update)",
                shown_value.get(UPDATED_AT),
                (known.updated_by,),
            )
        )
    return out


def _stamp_pointer(seen: Seen, item_pointer: Callable[[str], str] | None, name: str) -> str:
    """Where a timestamp is written: a list item's field, or the answer's own."""
    return item_pointer(name) if item_pointer is not None else seen.facts.field_pointer(seen.status, name)


# --- what earlier exchanges showed ----------------------------------------------------------


def existence(seen: Seen) -> list[Finding]:
    """A conversation deleted (2xx delete, or a 404) is not served again; one shown to exist
    is not answered 404, unless a write the proxy did not see explains it."""
    out: list[Finding] = []
    facts, known = seen.facts, seen.known
    if facts.kind not in (READ, UPDATE, DELETE) or known is None:
        return out
    # Each finding needs a known existence the answer contradicts: gone and answered 2xx, or
    # alive and answered 404. Asked first (the usual case: alive and 2xx), before the rest.
    alive = known.alive
    if not ((alive is False and seen.ok) or (alive is True and seen.status == 404)):
        return out
    if known.alive_end >= seen.start or not seen.calm:
        return out
    if known.alive is False and seen.ok:
        out.append(
            seen.contradiction(
                "goneAfterDelete",
                facts.pointer("responses"),
                f"answered {seen.status} for {seen.spelling!r}, which #{known.alive_by} showed gone",
                seen.status,
                (known.alive_by,),
            )
        )
    elif known.alive is True and seen.status == 404:
        out.append(
            seen.contradiction(
                "existsUntilDeleted",
                facts.pointer("responses"),
                f"answered 404 for {seen.spelling!r}, which #{known.alive_by} showed exists, with no delete seen since",
                seen.status,
                (known.alive_by,),
            )
        )
    return out


def read_shows_state(seen: Seen) -> list[Finding]:
    """A read shows what the last exchange left: the written fields on the next read."""
    out: list[Finding] = []
    facts, known = seen.facts, seen.known
    if facts.kind is not READ or not seen.ok or not isinstance(seen.answer, dict):
        return out
    if known is None or known.fields is None or known.basis_end >= seen.start or not seen.calm:
        return out
    if known.whole is not None and known.whole == seen.whole:
        return out  # nothing changed: the usual case, one comparison
    answer = seen.answer
    changed = [n for n in facts.fields if n in known.fields and n in answer and seen.shown_token(n) != known.fields[n]]
    if changed:
        first = changed[0]
        out.append(
            seen.contradiction(
                "readShowsWrite",
                facts.pointer("responses"),
                f"read shows {', '.join(changed[:5])} changed with no write seen: {first} is "
                f"{_text(answer[first])}, #{known.basis} left it {shorten(shown(known.fields[first]), _EXCERPT)}",
                answer[first],
                (known.basis,),
            )
        )
    return out


# --- lists ----------------------------------------------------------------------------------


def list_matches_query(seen: Seen) -> list[Finding]:
    """A page holds only items that match each filter sent, and no more than `limit` (sent, or
    its documented default)."""
    out: list[Finding] = []
    listing = seen.facts.listing
    if listing is None or not seen.ok:
        return out
    items = seen.items()
    if items is None:
        return out
    for name in listing.filters:
        value = seen.query.get(name)
        if value is None:
            continue
        wrong = [i for i in items if isinstance(i, dict) and name in i and i[name] != value]
        if wrong:
            out.append(
                seen.violation(
                    "listFilter",
                    listing.filter_pointers[name],
                    f"{name}={value!r} listed {len(wrong)} item(s) whose {name} differs, e.g. "
                    f"{_text(wrong[0].get('id'))} with {name}={_text(wrong[0][name])}",
                    wrong[0][name],
                )
            )
    raw = seen.query.get(LIMIT)
    limit = ascii_int(raw) if raw is not None and len(raw) <= 12 else None
    default = raw is None and listing.limit_default is not None
    if raw is None:
        limit = listing.limit_default
    if limit is not None and limit >= 1 and len(items) > limit:
        said = f"the documented default limit {limit}" if default else f"limit={limit}"
        out.append(
            seen.violation("listLimit", listing.limit_pointer, f"a page of {len(items)} items for {said}", len(items))
        )
    return out


def _ids(seen: Seen, items: list[Any]) -> list[str]:
    ids = [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)]
    return [i.lower() for i in ids] if seen.facts.uuid_ids else ids


def page_walk(seen: Seen) -> list[Finding]:
    """Across the pages of one walk (each page's cursor or page number the one that followed
    the last), no item comes twice, unless a write could have moved it (the order is open)."""
    out: list[Finding] = []
    listing, walk = seen.facts.listing, seen.walk
    if listing is None or walk is None or not seen.ok or seen.owner is None:
        return out
    items = seen.items()
    if not items:
        return out
    repeated = [i for i in _ids(seen, items) if i in walk.ids]
    if repeated and seen.tracker.quiet_since(seen.owner, walk.start):
        out.append(
            seen.contradiction(
                "pageRepeat",
                listing.paging_pointer,
                f"this page repeats {', '.join(map(repr, repeated[:3]))}"
                + (f" and {len(repeated) - 3} more" if len(repeated) > 3 else "")
                + f", already listed by {_refs(walk.pages)} of the same walk",
                repeated[0],
                tuple(walk.pages),
            )
        )
    return out


def list_membership(seen: Seen) -> list[Finding]:
    """A whole walk of the list (first page to last) holds every conversation of the credential
    that exists and matches its filters, as far as earlier exchanges showed them."""
    out: list[Finding] = []
    facts, listing = seen.facts, seen.facts.listing
    if listing is None or not seen.complete or seen.owner is None or not seen.ok:
        return out
    walk = seen.walk
    start = walk.start if walk is not None else seen.start
    if not seen.tracker.quiet_since(seen.owner, start):
        return out
    # A conversation this very page lists (`tracked`, which the other list checks read too) is
    # not missing; the walk's ids and the filters' tokens are worked out only for another one.
    on_page = {known for _, known, _ in seen.tracked()}
    listed: set[str] | None = None
    filters: list[tuple[str, Token | None]] = []
    missing: list[tuple[str, Known]] = []
    for item_id, known in seen.tracker.recent(seen.owner):
        if known in on_page:
            continue
        if known.alive is not True or known.alive_end >= start or known.fields is None or not seen.quiet(known, start):
            continue
        if listed is None:
            listed = set(_ids(seen, seen.items() or [])) | (walk.ids if walk is not None else set())
            filters = [(name, token(seen.query[name])) for name in listing.filters if name in seen.query]
        if item_id not in listed and all(known.fields.get(name, NOTHING) == value for name, value in filters):
            missing.append((item_id, known))
    if missing:
        pages = (*(walk.pages if walk is not None else ()), seen.request_id)
        item_id, known = missing[0]
        out.append(
            seen.contradiction(
                "listMembership",
                listing.paging_pointer if walk is not None else facts.pointer(),
                f"a whole walk of the list ({_refs(pages)}) left out {', '.join(repr(i) for i, _ in missing[:3])}"
                + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                + f", which #{known.alive_by} showed exists and matches the query, with no delete seen since",
                item_id,
                (known.alive_by, *pages[:-1]),
            )
        )
    return out


def list_items_state(seen: Seen) -> list[Finding]:
    """Each listed conversation the traffic knows agrees with what the last exchange showed: not
    one deleted since, no stale summary; its createdAt fixed and its updatedAt never earlier."""
    out: list[Finding] = []
    facts, listing = seen.facts, seen.facts.listing
    if listing is None or not seen.ok or seen.owner is None:
        return out
    items = seen.items() or []
    stale: list[tuple[str, str, Known]] = []
    for item, known, change in seen.tracked():
        if facts.timestamps:
            stamps = (moment(item.get(CREATED_AT)), moment(item.get(UPDATED_AT)))
            out += _timestamps_of(seen, item, stamps, known, False, listing.item_pointer)
        if not seen.quiet(known):
            continue
        if known.alive is False and known.alive_end < seen.start:
            out.append(
                seen.contradiction(
                    "goneAfterDelete",
                    facts.pointer("responses"),
                    f"listed {item['id']!r}, which #{known.alive_by} showed gone",
                    item["id"],
                    (known.alive_by,),
                )
            )
        elif known.basis_end < seen.start and change is not None:
            stale.append((item["id"], change, known))
    if stale:
        item_id, name, known = stale[0]
        assert known.fields is not None
        out.append(
            seen.contradiction(
                "listShowsState",
                facts.pointer("responses"),
                f"the list shows {item_id!r} with {name} {_text(_item_value(items, item_id, name))}, "
                f"but #{known.basis} left it {shorten(shown(known.fields[name]), _EXCERPT)}"
                + (f" ({len(stale) - 1} more item(s) like it)" if len(stale) > 1 else ""),
                _item_value(items, item_id, name),
                (known.basis,),
            )
        )
    return out


def summary_change(facts: OperationFacts, item: dict[str, Any], known: Known) -> str | None:
    """The first field a list item shows otherwise than the tracker knows it, if any."""
    if known.fields is None or summary_of(item, facts.summary) == known.listed:
        return None
    fields = known.fields
    return next((n for n in facts.summary if n in fields and n in item and token(item[n]) != fields[n]), None)


def _item_value(items: list[Any], item_id: str, name: str) -> Any:
    return next((i.get(name) for i in items if isinstance(i, dict) and i.get("id") == item_id), None)


Check = Callable[[Seen], list[Finding]]
_ANY = frozenset(Kind)
_ITEM = frozenset({CREATE, READ, UPDATE})

# Each check and the operations it looks at (only those run: most exchanges meet a few). The
# first three look at the request alone: `run` asks them only when they can find something.
_FIRST = (accepted_invalid_input, credential_required, refused_valid_input)
BEHAVIOUR_CHECKS: tuple[tuple[Check, frozenset[Kind]], ...] = (
    (accepted_invalid_input, _ANY),
    (credential_required, _ANY),
    (refused_valid_input, _ANY),
    (create_shows_request, frozenset({CREATE})),
    (update_shows_request, frozenset({UPDATE})),
    (update_keeps_the_rest, frozenset({UPDATE})),
    (timestamps, _ITEM),
    (existence, frozenset({READ, UPDATE, DELETE})),
    (read_shows_state, frozenset({READ})),
    (list_matches_query, frozenset({LIST})),
    (page_walk, frozenset({LIST})),
    (list_membership, frozenset({LIST})),
    (list_items_state, frozenset({LIST})),
)
_BY_KIND = {
    kind: tuple(check for check, kinds in BEHAVIOUR_CHECKS if kind in kinds and check not in _FIRST) for kind in Kind
}


def run(seen: Seen) -> list[Finding]:
    # The three about the request alone are asked only when they can find something.
    found: list[Finding] = []
    if seen.request_findings:
        found += accepted_invalid_input(seen)
    if seen.owner is None:
        found += credential_required(seen)
    elif seen.status in _REFUSED:
        found += refused_valid_input(seen)
    for check in _BY_KIND[seen.facts.kind]:
        found += check(seen)
    return found


__all__ = [
    "BEHAVIOUR_CHECKS",
    "NOTHING",
    "Seen",
    "contains",
    "items_of",
    "key_of",
    "moment",
    "run",
    "shows",
    "shows_every_write",
    "stamps_in_order",
    "summary_change",
    "whole_of",
]
