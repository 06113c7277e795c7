"""The proxy's picture of the state, built from the traffic alone, per API, per credential and
per conversation id: what the last answers showed of each conversation (its fields, whether it
exists, its timestamps) and which exchange showed it, so that a later answer can be held to it.

Bounded: at most `TRACKED_IDS` conversations (least recently seen forgotten first), each kept
as short tokens (a field's canonical JSON up to `SHOWN` bytes, a hash beyond), `TRACKED_WALKS`
list walks of up to `WALK_ITEMS` ids each, `TRACKED_OWNERS` credentials. Nothing here is sent
anywhere: credentials are kept only as the keys of these tables.

Order matters more than time: every exchange takes a sequence number when it is forwarded
(`start`) and when its answer is in (`end`). What an exchange showed holds for exchanges that
started after it ended; a write to the same conversation in flight meanwhile (`writing`, by
any credential: two keys may be one account) or answered since (`last_write_end`) could
explain any difference, so nothing is judged across one.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

TRACKED_IDS = 4096  # conversations remembered (all credentials together)
TRACKED_OWNERS = 1024  # credentials whose writes in flight are followed
TRACKED_WALKS = 64  # list walks followed page by page
WALK_ITEMS = 2000  # ids one walk remembers; a longer walk is dropped, not judged
MEMBERSHIP_SCAN = 256  # a complete walk is checked for the credential's most recent ids only
SHOWN = 64  # a value's canonical JSON is kept as text up to this many bytes, by hash beyond
MAP_KEYS = 32  # a free-form object is remembered key by key up to this many keys
SHORT = 256  # a list item's text fields kept as they are up to this many characters

Token = str | int
_ABSENT: Any = object()  # a field an answer does not carry
Owner = tuple[str, str]  # (api, credential)
Key = tuple[str, str, str]  # (api, credential, conversation id as compared)


def token(value: Any) -> Token | None:
    """A value as compared across exchanges: canonical JSON (keys sorted), or its hash when long;
    None when it cannot be written (e.g. nested past orjson's depth)."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None
    return text.decode() if len(text) <= SHOWN else hash(text)


def token_of(value: dict[str, Any], names: tuple[str, ...]) -> int | None:
    """A quick token of `value`'s fields among `names` (those it has), for one comparison that
    spares the field-by-field one: equal means equal; unequal may be only another key order,
    so a difference is always looked at field by field (`token`) before it is reported."""
    try:
        return hash(orjson.dumps({name: value[name] for name in names if name in value}))
    except orjson.JSONEncodeError:
        return None


_SCALARS = (str, int, float, bool, type(None))


def summary_of(value: dict[str, Any], names: tuple[str, ...]) -> Any:
    """`value`'s fields among `names` as one thing to compare: their values themselves when all
    are short scalars (a tuple compared in one step, nothing serialised), else `token_of`."""
    values = tuple(value.get(name, _ABSENT) for name in names)
    for v in values:
        if (not isinstance(v, _SCALARS) and v is not _ABSENT) or (isinstance(v, str) and len(v) > SHORT):
            return token_of(value, names)
    return values


def shown(value: Token | None) -> str:
    """A token for a message: the value's JSON, or that it was long."""
    return value if isinstance(value, str) else "(a long value)"


class Known:
    """What the traffic showed of one conversation, for one credential."""

    __slots__ = (
        "alive",
        "alive_by",
        "alive_end",
        "basis",
        "basis_end",
        "created",
        "created_by",
        "fields",
        "ident",
        "last_write_end",
        "listed",
        "maps",
        "raw",
        "raw_stamps",
        "spelling",
        "updated",
        "updated_at",
        "updated_by",
        "updated_end",
        "whole",
    )

    def __init__(self, ident: tuple[str, str], spelling: str) -> None:
        self.ident = ident  # (api, id as compared): what writes in flight are counted by
        self.spelling = spelling  # the id as the exchange that established the knowledge spelled it
        self.fields: dict[str, Token] | None = None  # None: not known
        self.maps: dict[str, dict[str, Token]] = {}  # free-form objects, key by key, when small
        # The same fields at once (None: not known whole), and those a list item carries: one
        # comparison when nothing changed, the usual case.
        self.whole: int | None = None
        self.listed: Any = None  # `summary_of` its list-item fields
        self.raw: int | None = None  # the hash of the basis's answer as sent: a read sent the same is unchanged
        self.raw_stamps: tuple[datetime | None, datetime | None] = (None, None)  # the stamps that answer showed
        self.basis = 0  # the request id the fields rest on
        self.basis_end = -1  # its end (sequence)
        self.alive: bool | None = None  # exists (True), deleted (False), not known (None)
        self.alive_by = 0
        self.alive_end = -1
        self.created: datetime | None = None
        self.created_by = 0
        self.updated: datetime | None = None
        self.updated_by = 0
        self.updated_end = -1
        self.updated_at = 0.0  # monotonic time its answer came in
        self.last_write_end = -1  # the end of the last write to it (by any credential)

    def forget(self) -> None:
        """An outcome the traffic cannot tell (a failed or overlapping write): fields and
        existence unknown; createdAt and the latest updatedAt still hold."""
        self.fields = None
        self.maps = {}
        self.whole = self.listed = self.raw = None
        self.alive = None


@dataclass(slots=True)
class Walk:
    """The pages of one list walk seen so far: the first page's query and start, the ids."""

    filters: tuple[tuple[str, str], ...]
    start: int  # the first page's start
    ids: set[str] = field(default_factory=set)
    pages: list[int] = field(default_factory=list)  # their request ids


class Tracker:
    def __init__(self, size: int = TRACKED_IDS) -> None:
        self.size = size
        # The next sequence number: the counter's own C method, no Python frame per call.
        self.tick: Callable[[], int] = itertools.count().__next__
        self.entries: OrderedDict[Key, Known] = OrderedDict()
        # The same entries by credential, most recently touched last: what a complete walk scans.
        self.by_owner: dict[Owner, OrderedDict[str, Known]] = {}
        # The credentials that know each (api, id): two keys may be one account, so a write by
        # one may change what another knows.
        self.by_id: dict[tuple[str, str], set[str]] = {}
        # Writes forwarded and not yet answered, per (api, id) whoever sent them; and per
        # credential [in flight, the end of its last write] (for its list walks).
        self.writing: dict[tuple[str, str], int] = {}
        self.owners: dict[Owner, list[int]] = {}
        self.walks: OrderedDict[tuple[Any, ...], Walk] = OrderedDict()
        # Bumped on every change to what is tracked (by the monitor for each exchange that may
        # change it, here for writes in flight and walks): equal counts, the same picture.
        self.changes = 0

    # --- conversations -----------------------------------------------------------------------

    def get(self, key: Key) -> Known | None:
        return self.entries.get(key)

    def entry(self, key: Key, spelling: str) -> Known:
        """The conversation's entry, made (and the oldest forgotten past the bound) if new."""
        known = self.entries.get(key)
        if known is None:
            known = self.entries[key] = Known((key[0], key[2]), spelling)
            self.by_owner.setdefault(key[:2], OrderedDict())[key[2]] = known
            self.by_id.setdefault((key[0], key[2]), set()).add(key[1])
            while len(self.entries) > self.size:
                self._evict()
        else:
            self.touch(key)
        return known

    def touch(self, key: Key) -> None:
        """The entry `key` (which is tracked) was seen again: the last to be forgotten."""
        self.entries.move_to_end(key)
        self.by_owner[key[:2]].move_to_end(key[2])

    def _evict(self) -> None:
        # A write in flight keeps its entry (its answer is still due), unless all are in flight.
        writing = self.writing
        key = next((k for k, known in self.entries.items() if known.ident not in writing), next(iter(self.entries)))
        del self.entries[key]
        owned = self.by_owner[key[:2]]
        del owned[key[2]]
        if not owned:
            del self.by_owner[key[:2]]
        known_by = self.by_id[(key[0], key[2])]
        known_by.discard(key[1])
        if not known_by:
            del self.by_id[(key[0], key[2])]

    def others(self, api: str, item: str, credential: str) -> list[Known]:
        """What other credentials know of the same (api, id)."""
        return [self.entries[(api, c, item)] for c in self.by_id.get((api, item), ()) if c != credential]

    def recent(self, owner: Owner) -> Iterator[tuple[str, Known]]:
        """The credential's conversations, most recently touched first, at most MEMBERSHIP_SCAN."""
        owned = self.by_owner.get(owner)
        if owned:
            yield from itertools.islice(reversed(owned.items()), MEMBERSHIP_SCAN)

    # --- writes in flight --------------------------------------------------------------------

    def write_begins(self, owner: Owner, ident: tuple[str, str] | None) -> None:
        self.changes += 1
        state = self.owners.get(owner)
        if state is None:
            if len(self.owners) >= TRACKED_OWNERS:  # past the bound, those with none in flight go
                self.owners = {name: old for name, old in self.owners.items() if old[0]}
            state = self.owners[owner] = [0, -1]
        state[0] += 1
        if ident is not None:
            self.writing[ident] = self.writing.get(ident, 0) + 1

    def write_ends(
        self, owner: Owner, ident: tuple[str, str] | None, end: int, key: Key | None = None, forget: bool = False,
        status: int = 0,
    ) -> None:  # fmt: skip
        """A write is over (answered `status`, or `forget`: no answer came). What any
        credential knows of the conversation `key` names rests on its end; what the write may
        have changed is forgotten: by its own credential when no answer came, by another
        (the same conversation, or its namesake) unless refused with a 4xx."""
        self.changes += 1
        state = self.owners.get(owner)
        if state is not None:
            state[0], state[1] = state[0] - 1 if state[0] else 0, end
        if ident is None:
            return
        writing = self.writing
        left = writing.pop(ident, 1) - 1  # the usual case, the only one in flight: gone in one step
        if left > 0:
            writing[ident] = left
        if key is None:
            return
        known = self.entries.get(key)
        if known is not None:
            known.last_write_end = end
            if forget:
                known.forget()
        credentials = self.by_id.get(ident)
        if credentials is None or len(credentials) < 2:
            return  # no other credential knows it
        for other in self.others(ident[0], ident[1], key[1]):
            other.last_write_end = end
            if forget or not 400 <= status < 500:
                other.forget()

    def quiet_since(self, owner: Owner, start: int) -> bool:
        """No write of this credential in flight now, none answered since `start`."""
        state = self.owners.get(owner)
        return state is None or (state[0] == 0 and state[1] < start)

    # --- walks -------------------------------------------------------------------------------

    def take_walk(self, key: tuple[Any, ...]) -> Walk | None:
        walk = self.walks.pop(key, None)
        if walk is not None:
            self.changes += 1
        return walk

    def keep_walk(self, key: tuple[Any, ...], walk: Walk) -> None:
        self.changes += 1
        if len(walk.ids) > WALK_ITEMS:
            return  # too long to follow within the bound: dropped, never judged
        self.walks[key] = walk
        while len(self.walks) > TRACKED_WALKS:
            self.walks.popitem(last=False)


__all__ = [
    "MAP_KEYS",
    "MEMBERSHIP_SCAN",
    "SHORT",
    "SHOWN",
    "TRACKED_IDS",
    "TRACKED_OWNERS",
    "TRACKED_WALKS",
    "WALK_ITEMS",
    "Key",
    "Known",
    "Owner",
    "Tracker",
    "Walk",
    "shown",
    "summary_of",
    "token",
    "token_of",
]
