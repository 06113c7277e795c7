"""The Runtype conversation's fields and list settings, read from the spec once.

The store keeps hand-written `__slots__` and JSON shapes for speed; `check_store` compares
them with the spec at start-up, so a spec change cannot leave the mock silently behind.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import specs

# A conversation created through the API is an app conversation: the mock's choice among
# the spec's `Source` values (docs/behaviour.md rule 21); `check_store` checks it is one of them.
CREATED_SOURCE = "app"
# Fields the server sets itself: never taken from a request body.
SERVER_SET = frozenset({"id", "source", "createdAt", "updatedAt"})
_PAGING = frozenset({"limit", "cursor"})


class SpecMismatch(RuntimeError):
    """The store's hand-written field lists disagree with the spec."""


@dataclass(frozen=True)
class RuntypeFields:
    conversation: tuple[str, ...]  # the Conversation schema's properties, in order
    summary: tuple[str, ...]  # the ConversationSummary schema's properties
    create: tuple[str, ...]  # create's body properties
    update: tuple[str, ...]  # update's body properties
    hidden: tuple[str, ...]  # list filters that are not conversation fields (kept, not shown)
    create_defaults: dict[str, Any]  # the documented defaults of create's body; shared, copy to mutate
    seed_defaults: dict[str, Any]  # what a seed entry may omit, besides ids and timestamps; shared
    sources: tuple[str, ...]
    default_limit: int  # list's `limit` when absent: the spec's parameter default
    max_limit: int  # list's page cap: the spec's `x-mock-max-limit`


def _properties(schema: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(schema.get("properties", {}))


def _empty_value(schema: Mapping[str, Any]) -> Any:
    """What a seed entry gets for a required field it omits: null where the spec allows it,
    else an empty list or object."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "null" in types:
        return None
    if "array" in types:
        return []
    if "object" in types:
        return {}
    return None


def read(spec: specs.Spec) -> RuntypeFields:
    conversation = spec.schema("Conversation")
    create = spec.operation("createConversation").request_schema() or {}
    update = spec.operation("updateConversation").request_schema() or {}
    listing = spec.operation("listConversations")
    limit = listing.parameter("limit")
    if limit is None or "default" not in limit["schema"] or "x-mock-max-limit" not in limit:
        raise SpecMismatch("runtype listConversations: `limit` needs a `default` and `x-mock-max-limit`")
    create_defaults = {name: p["default"] for name, p in create.get("properties", {}).items() if "default" in p}
    seed_defaults: dict[str, Any] = {
        name: _empty_value(prop)
        for name, prop in conversation["properties"].items()
        if name not in SERVER_SET and name not in create_defaults
    }
    seed_defaults["source"] = CREATED_SOURCE
    seed_defaults.update(create_defaults)
    return RuntypeFields(
        conversation=_properties(conversation),
        summary=_properties(spec.schema("ConversationSummary")),
        create=_properties(create),
        update=_properties(update),
        hidden=tuple(
            p["name"]
            for p in listing.parameters
            if p["in"] == "query" and p["name"] not in _PAGING and p["name"] not in conversation["properties"]
        ),
        create_defaults=create_defaults,
        seed_defaults=seed_defaults,
        sources=tuple(spec.schema("Source")["enum"]),
        default_limit=int(limit["schema"]["default"]),
        max_limit=int(limit["x-mock-max-limit"]),
    )


@functools.cache
def runtype_fields() -> RuntypeFields:
    return read(specs.load("runtype"))


def check_store(
    fields: RuntypeFields, slots: Iterable[str], to_json: Iterable[str], summary: Iterable[str], hidden: Iterable[str]
) -> None:
    """Raise SpecMismatch naming every difference between the store's lists and the spec's."""
    problems = []
    expected_slots = {*fields.conversation, *fields.hidden, "seq"}
    for what, have, want in (
        ("__slots__", set(slots), expected_slots),
        ("to_json()", set(to_json), set(fields.conversation)),
        ("summary()", set(summary), set(fields.summary)),
        ("hidden fields", set(hidden), set(fields.hidden)),
    ):
        if have != want:
            extra, missing = sorted(have - want), sorted(want - have)
            problems.append(f"{what}: not in the spec {extra}, missing {missing}")
    if CREATED_SOURCE not in fields.sources:
        problems.append(f"source {CREATED_SOURCE!r} is not one of the spec's {list(fields.sources)}")
    if problems:
        raise SpecMismatch("RuntypeConversation disagrees with specs/runtype.yaml: " + "; ".join(problems))
