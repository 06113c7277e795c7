"""In-memory state of both APIs, scoped by tenant.

The mock runs on one event loop and no method here awaits, so each call is atomic: two
concurrent requests can never lose an update or mint the same id.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import functools
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from specs.integers import ascii_int

from .runtype_fields import CREATED_SOURCE, check_store, runtype_fields


class Clock:
    """RFC 3339 UTC timestamps that strictly increase, so `updatedAt` always moves forward.

    Stored data may lie in the future, and the clock then runs on from it. Data past
    `LATEST` is refused when it arrives (seed.py), which leaves the clock about a thousand
    years of microsecond steps before `CEILING`: `updatedAt` keeps moving forward, and
    `datetime`'s year 9999 is never overflowed (at `CEILING` the time would stand still).

    Kept in integer microseconds since the epoch, and written with the text of the current
    second remembered: every write asks for the time, and datetime arithmetic and formatting
    cost a write more than the rest of its work.
    """

    LATEST = datetime(9000, 12, 31, 23, 59, 59, tzinfo=UTC)
    CEILING = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

    def __init__(self) -> None:
        self._last = 0  # µs since the epoch
        self._second = -1
        self._second_text = ""

    def now(self) -> str:
        now = time.time_ns() // 1000
        if now <= self._last:
            now = min(self._last + 1, _CEILING_US)
        self._last = now
        second, micro = divmod(now, 1_000_000)
        if second != self._second:
            self._second = second
            self._second_text = (_EPOCH + timedelta(seconds=second)).isoformat(timespec="seconds")[:19]
        return f"{self._second_text}.{micro:06d}Z"

    def observe(self, timestamp: str) -> None:
        """Never hand out a time earlier than one already stored (seed data may be in the future)."""
        moment = parse_timestamp(timestamp)
        if moment is not None:
            self._last = max(self._last, min(_micros(moment), _LATEST_US))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_LATEST_US, _CEILING_US = _micros(Clock.LATEST), _micros(Clock.CEILING)


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 timestamp with its offset, or None when `text` is not one."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def format_timestamp(moment: datetime) -> str:
    # isoformat is several times faster than strftime; the same text with "Z" for UTC.
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class RuntypeConversation:
    # Written out for speed; `check_against_spec` compares them with the spec at start-up.
    __slots__ = (
        "client_token_id",
        "createdAt",
        "id",
        "messages",
        "metadata",
        "modelId",
        "ownerId",
        "seq",
        "source",
        "surface_id",
        "systemPrompt",
        "title",
        "updatedAt",
    )

    def __init__(self, seq: int, data: dict[str, Any]) -> None:
        self.seq = seq
        self.id: str = data["id"]
        self.title: str = data["title"]
        self.modelId: str | None = data.get("modelId")
        self.systemPrompt: str | None = data.get("systemPrompt")
        self.ownerId: str | None = data.get("ownerId")
        self.metadata: dict[str, Any] = data.get("metadata", {})
        self.messages: list[dict[str, Any]] = data.get("messages", [])
        self.source: str = data["source"]
        self.createdAt: str = data["createdAt"]
        self.updatedAt: str = data["updatedAt"]
        self.surface_id: str | None = data.get("surface_id")
        self.client_token_id: str | None = data.get("client_token_id")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "modelId": self.modelId,
            "systemPrompt": self.systemPrompt,
            "ownerId": self.ownerId,
            "metadata": self.metadata,
            "messages": self.messages,
            "source": self.source,
            "createdAt": self.createdAt,
            "updatedAt": self.updatedAt,
        }

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "modelId": self.modelId,
            "ownerId": self.ownerId,
            "messageCount": len(self.messages),
            "source": self.source,
            "createdAt": self.createdAt,
            "updatedAt": self.updatedAt,
        }

    def dump(self) -> dict[str, Any]:
        data = self.to_json()
        # Not part of the documented conversation object, but filters of the documented list.
        for name in runtype_fields().hidden:
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data


@functools.cache
def check_against_spec() -> None:
    """Raise `SpecMismatch` if RuntypeConversation's fields and shapes are not the spec's."""
    sample = RuntypeConversation(0, {"id": "", "title": "", "source": CREATED_SOURCE, "createdAt": "", "updatedAt": ""})
    check_store(
        runtype_fields(),
        slots=RuntypeConversation.__slots__,
        to_json=sample.to_json(),
        summary=sample.summary(),
        hidden=(name for name in RuntypeConversation.__slots__ if name not in sample.to_json() and name != "seq"),
    )


@dataclass
class Page:
    items: list[RuntypeConversation]
    has_more: bool
    next_cursor: str | None


class RuntypeCollection:
    """One tenant's Runtype conversations, newest first.

    Pages are cut by a keyset cursor (the sequence number of the last item served), so a
    deep page costs a binary search rather than a scan from the start, and items created
    while a client walks the pages land before its cursor: nothing is skipped or repeated.
    """

    def __init__(self) -> None:
        self.by_id: dict[str, RuntypeConversation] = {}
        self._seqs: list[int] = []  # ascending
        self._by_seq: dict[int, RuntypeConversation] = {}

    def __iter__(self) -> Iterator[RuntypeConversation]:
        """Oldest first, the order a dump is written and reloaded in."""
        return (self._by_seq[s] for s in self._seqs)

    def add(self, conversation: RuntypeConversation) -> None:
        self.by_id[conversation.id] = conversation
        self._by_seq[conversation.seq] = conversation
        if self._seqs and conversation.seq < self._seqs[-1]:
            bisect.insort(self._seqs, conversation.seq)
        else:
            self._seqs.append(conversation.seq)

    def remove(self, conversation_id: str) -> bool:
        conversation = self.by_id.pop(conversation_id, None)
        if conversation is None:
            return False
        del self._by_seq[conversation.seq]
        index = bisect.bisect_left(self._seqs, conversation.seq)
        del self._seqs[index]
        return True

    def page(self, limit: int, cursor: str | None, filters: dict[str, str]) -> Page:
        if cursor is None:
            end = len(self._seqs)
        else:
            after = decode_cursor(cursor)
            # An unknown cursor is a well-formed string the spec allows: an empty last page.
            if after is None:
                return Page([], False, None)
            end = bisect.bisect_left(self._seqs, after)
        if not filters:
            start = max(0, end - limit)
            items = [self._by_seq[s] for s in reversed(self._seqs[start:end])]
            has_more = start > 0
        else:
            # One item past the page tells whether there is a next one.
            items = []
            index = end - 1
            while index >= 0 and len(items) <= limit:
                candidate = self._by_seq[self._seqs[index]]
                if all(getattr(candidate, name, None) == value for name, value in filters.items()):
                    items.append(candidate)
                index -= 1
            has_more = len(items) > limit
            del items[limit:]
        next_cursor = encode_cursor(items[-1].seq) if has_more and items else None
        return Page(items, has_more, next_cursor)


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"c1.{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(".")
    return ascii_int(number) if prefix == "c1" else None


@dataclass
class SystemPromptConversation:
    id: str
    message: list[dict[str, Any]]
    metadata: dict[str, Any]

    def to_json(self, link_base: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "message": self.message,
            "metadata": self.metadata,
            "_link": f"{link_base}/v1/conversation/{self.id}",
        }

    def dump(self) -> dict[str, Any]:
        return {"id": self.id, "message": self.message, "metadata": self.metadata}


@dataclass
class Tenant:
    runtype: RuntypeCollection = field(default_factory=RuntypeCollection)
    # Insertion-ordered: list pages follow the order conversations came into being.
    systemprompt: dict[str, SystemPromptConversation] = field(default_factory=dict)


class Store:
    """All tenants' data. `changes` counts mutations so that persistence knows when to save."""

    def __init__(self) -> None:
        check_against_spec()
        self.tenants: dict[str, Tenant] = {}
        self.clock = Clock()
        self.changes = 0
        self._seq = 0

    def tenant(self, name: str) -> Tenant:
        tenant = self.tenants.get(name)
        if tenant is None:
            tenant = self.tenants[name] = Tenant()
        return tenant

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # Runtype -------------------------------------------------------------------------

    def runtype_create(self, tenant: str, fields: dict[str, Any], defaults: dict[str, Any]) -> RuntypeConversation:
        now = self.clock.now()
        data: dict[str, Any] = {
            name: fields.get(name, copy.deepcopy(defaults.get(name))) for name in runtype_fields().create
        }
        data.update(
            id=f"conv_{secrets.token_hex(12)}", source=CREATED_SOURCE, messages=[], createdAt=now, updatedAt=now
        )
        if data["metadata"] is None:
            data["metadata"] = {}
        conversation = RuntypeConversation(self._next_seq(), data)
        self.tenant(tenant).runtype.add(conversation)
        self.changes += 1
        return conversation

    def runtype_get(self, tenant: str, conversation_id: str) -> RuntypeConversation | None:
        found = self.tenants.get(tenant)
        return found.runtype.by_id.get(conversation_id) if found else None

    def runtype_update(self, tenant: str, conversation_id: str, fields: dict[str, Any]) -> RuntypeConversation | None:
        conversation = self.runtype_get(tenant, conversation_id)
        if conversation is None:
            return None
        for name in runtype_fields().update:
            if name in fields:
                setattr(conversation, name, fields[name])
        conversation.updatedAt = self.clock.now()
        self.changes += 1
        return conversation

    def runtype_delete(self, tenant: str, conversation_id: str) -> bool:
        found = self.tenants.get(tenant)
        if found is None or not found.runtype.remove(conversation_id):
            return False
        self.changes += 1
        return True

    def runtype_page(self, tenant: str, limit: int, cursor: str | None, filters: dict[str, str]) -> Page:
        found = self.tenants.get(tenant)
        if found is None:
            return Page([], False, None)
        return found.runtype.page(limit, cursor, filters)

    # systemprompt.io -------------------------------------------------------------------

    def systemprompt_get(self, tenant: str, uuid: str) -> SystemPromptConversation | None:
        found = self.tenants.get(tenant)
        return found.systemprompt.get(uuid) if found else None

    def systemprompt_update(self, tenant: str, uuid: str, body: dict[str, Any]) -> SystemPromptConversation | None:
        conversation = self.systemprompt_get(tenant, uuid)
        if conversation is None:
            return None
        if "metadata" in body:
            conversation.metadata = {**conversation.metadata, **body["metadata"]}
        self.changes += 1
        return conversation

    def systemprompt_page(self, tenant: str, page: int, limit: int) -> list[SystemPromptConversation]:
        found = self.tenants.get(tenant)
        if found is None or limit < 1:
            return []
        start = (max(page, 1) - 1) * limit
        if start >= len(found.systemprompt):
            return []
        return list(found.systemprompt.values())[start : start + limit]

    # Snapshots -------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Every tenant's data in the seed/state file format (docs/mock.md)."""
        return {
            "tenants": {
                name: {
                    "runtype": [c.dump() for c in tenant.runtype],
                    "systemprompt": [c.dump() for c in tenant.systemprompt.values()],
                }
                for name, tenant in self.tenants.items()
            }
        }

    def replace(self, tenants: dict[str, dict[str, list[dict[str, Any]]]], clock: Clock | None = None) -> None:
        """Swap in already-validated data (see `mockserver.seed`) in one step, with the clock
        its timestamps were filled in by (default: keep this store's)."""
        if clock is not None:
            self.clock = clock
        fresh: dict[str, Tenant] = {}
        for name, data in tenants.items():
            tenant = fresh[name] = Tenant()
            for item in data.get("runtype", []):
                self.clock.observe(item["createdAt"])
                self.clock.observe(item["updatedAt"])
                tenant.runtype.add(RuntypeConversation(self._next_seq(), item))
            for item in data.get("systemprompt", []):
                tenant.systemprompt[item["id"]] = SystemPromptConversation(
                    item["id"], item.get("message", []), item.get("metadata", {})
                )
        self.tenants = fresh
        self.changes += 1
