"""What the behaviour monitor reads from the specs: per operation, what it does to the state
(create, read, update, delete, list), which fields a write sets, the documented defaults, the
list's filters and paging. Read once per operation; every name below is checked against the
spec when it is read, so a spec change cannot leave the monitor silently behind.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from operator import itemgetter
from typing import Any

import specs
from specs import Operation
from specs.leeway import credential_status_open

from .violations import in_spec, operation_parts, parameter_parts


class Kind(StrEnum):
    LIST = "list"
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    OTHER = "other"


# The members as plain names: `Kind.READ` costs a descriptor call on every use (Python 3.11),
# and the monitor asks on every exchange.
LIST, CREATE, READ, UPDATE, DELETE, OTHER = Kind.LIST, Kind.CREATE, Kind.READ, Kind.UPDATE, Kind.DELETE, Kind.OTHER
WRITES = frozenset({CREATE, UPDATE, DELETE})

# Both specs name their operations alike; what each does to the state is the documentation's
# (docs/behaviour.md, "What the documentation states"), not something a schema can say.
KINDS = {
    "listConversations": Kind.LIST,
    "createConversation": Kind.CREATE,
    "getConversation": Kind.READ,
    "updateConversation": Kind.UPDATE,
    "deleteConversation": Kind.DELETE,
}
CREATED_AT, UPDATED_AT = "createdAt", "updatedAt"  # Runtype's timestamps; systemprompt.io has none
# Built from the address a client asked, not from the state: never compared across exchanges.
DERIVED = frozenset({"_link"})
# The list's paging parameters (every other query parameter of a list is a filter on the field
# of that name) and where a Runtype page says what comes next.
LIMIT, CURSOR, PAGE = "limit", "cursor", "page"
NEXT_CURSOR, HAS_MORE = "nextCursor", "hasMore"


class SpecMismatch(ValueError):
    """The spec no longer has what the monitor reads from it."""


@dataclass(frozen=True)
class ListFacts:
    """A list operation: where its items are, how it pages, what it filters on."""

    items: tuple[str, ...]  # the path to the items' array in the answer; () for a bare array
    item_fields: tuple[str, ...]  # the fields an item documents
    filters: tuple[str, ...]  # query parameters that filter on the item field of that name
    cursor: bool  # paged by an opaque cursor (`cursor`, answered in `nextCursor`)
    pagination: tuple[str, ...]  # the path to the object holding `nextCursor` and `hasMore`
    page: bool  # paged by a page number (`page`, from 1)
    page_default: int | None
    # `limit` when absent, where the documentation states it (not one of our rules' choices).
    limit_default: int | None
    filter_pointers: Mapping[str, str]
    limit_pointer: str
    paging_pointer: str
    api: str
    item_schema: tuple[str, ...]  # where an item's schema is written, from the spec's root

    def item_pointer(self, field: str) -> str:
        """Where an item's documented field is written, e.g. `.../ConversationSummary/properties/id`."""
        return in_spec(self.api, self.item_schema, ("properties", field))


@dataclass(frozen=True)
class OperationFacts:
    op: Operation
    kind: Kind
    id_param: str | None  # the path parameter naming the conversation
    uuid_ids: bool  # ids are uuids: upper and lower case spell the same one (RFC 9562)
    secured: bool  # the spec requires a credential
    credential_status_open: bool  # which 4xx refuses a bad credential is our rule, not the docs'
    writes: tuple[str, ...]  # body fields the write sets on the conversation
    maps: frozenset[str]  # written fields that are free-form objects: merged or replaced (rules 3, 17)
    defaults: Mapping[str, Any]  # documented defaults of absent body fields (create)
    fields: tuple[str, ...]  # the conversation's documented fields, timestamps and links aside
    summary: tuple[str, ...]  # of those, the ones a list item carries too
    timestamps: bool  # the conversation carries createdAt and updatedAt
    listing: ListFacts | None
    # Worked out once per operation, asked on every exchange:
    write: bool  # it writes (create, update, delete): a write in flight while it is
    writes_item: bool  # it writes the conversation its path names (update, delete)
    shows_item: bool  # its 2xx answer is the conversation (create, read, update)
    stamped: bool  # ... and that carries createdAt and updatedAt
    # A conversation's documented `fields`, all present, as one tuple in one C call (a KeyError
    # when one is missing).
    pick: Callable[[Any], tuple[Any, ...]]

    def pointer(self, *parts: str | int) -> str:
        """Where `parts` (under this operation) is written in the spec, `$ref`s followed."""
        return in_spec(self.op.api, operation_parts(self.op), parts)

    def body_pointer(self, field: str | None = None, *more: str) -> str:
        base = ("requestBody", "content", "application/json", "schema")
        return self.pointer(*base, *(("properties", field, *more) if field else ()))

    def field_pointer(self, status: int, field: str) -> str:
        """The documented field of the 2xx answer, e.g. `.../Conversation/properties/createdAt`."""
        key = str(status) if str(status) in self.op.statuses else next(s for s in self.op.statuses if s[0] == "2")
        return self.pointer("responses", key, "content", "application/json", "schema", "properties", field)


def _success_status(op: Operation) -> str:
    return next((s for s in op.statuses if s.startswith("2") and op.response_schema(s)), "200")


def _success_schema(op: Operation) -> dict[str, Any]:
    return op.response_schema(_success_status(op)) or {}


def _is_map(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "object" and not schema.get("properties") and schema.get("additionalProperties", True)


def _conversation_schema(api: str) -> dict[str, Any]:
    return _success_schema(specs.load(api).operation("getConversation"))


def _list_facts(op: Operation) -> ListFacts:
    status = _success_status(op)
    schema = op.response_schema(status) or {}
    items: tuple[str, ...] = ()
    node = schema
    item_at = (*operation_parts(op), "responses", status, "content", "application/json", "schema")
    if schema.get("type") != "array":
        arrays = [name for name, prop in schema.get("properties", {}).items() if prop.get("type") == "array"]
        if len(arrays) != 1:
            raise SpecMismatch(f"{op.api} {op.operation_id}: the list answer needs exactly one array of items")
        items = (arrays[0],)
        node = schema["properties"][arrays[0]]
        item_at = (*item_at, "properties", arrays[0])
    item_fields = tuple(node.get("items", {}).get("properties", {}))
    pagination: tuple[str, ...] = ()
    for name, prop in schema.get("properties", {}).items():
        if {NEXT_CURSOR, HAS_MORE} <= set(prop.get("properties", {})):
            pagination = (name,)
    names = [p["name"] for p in op.parameters if p["in"] == "query"]
    cursor = CURSOR in names
    if cursor and not pagination:
        raise SpecMismatch(f"{op.api} {op.operation_id}: `{CURSOR}` needs `{NEXT_CURSOR}` and `{HAS_MORE}` answered")
    limit, page = op.parameter(LIMIT), op.parameter(PAGE)

    def documented_default(param: dict[str, Any] | None) -> int | None:
        if param is None or "x-rule" in param:
            return None  # absent, or a default of our rules (rule 13): not the service's promise
        default = param.get("schema", {}).get("default")
        return default if isinstance(default, int) and not isinstance(default, bool) else None

    def where(name: str) -> str:
        return in_spec(op.api, parameter_parts(op.api, op.path, op.method.lower(), name))

    filters = tuple(n for n in names if n not in (LIMIT, CURSOR, PAGE))
    return ListFacts(
        items=items,
        item_fields=item_fields,
        filters=filters,
        cursor=cursor,
        pagination=pagination,
        page=page is not None,
        page_default=documented_default(page),
        limit_default=documented_default(limit),
        filter_pointers={n: where(n) for n in filters},
        limit_pointer=where(LIMIT) if limit is not None else in_spec(op.api, operation_parts(op)),
        paging_pointer=where(CURSOR if cursor else PAGE) if cursor or page else in_spec(op.api, operation_parts(op)),
        api=op.api,
        item_schema=(*item_at, "items"),
    )


def _list_item_fields(api: str) -> frozenset[str]:
    listing = next((op for op in specs.load(api).operations if KINDS.get(op.operation_id) is Kind.LIST), None)
    return frozenset(_list_facts(listing).item_fields) if listing is not None else frozenset()


def _secured(op: Operation) -> bool:
    requirements = op.definition.get("security", specs.load(op.api).content.get("security", []))
    return any(requirement for requirement in requirements)


@functools.cache
def facts_of(api: str, operation_id: str) -> OperationFacts:
    op = specs.load(api).operation(operation_id)
    kind = KINDS.get(operation_id, Kind.OTHER)
    conversation = _conversation_schema(api)
    properties: dict[str, Any] = conversation.get("properties", {})
    path_params = [p for p in op.parameters if p["in"] == "path"]
    id_param = path_params[0] if len(path_params) == 1 else None
    body = op.request_schema() or {}
    body_props: dict[str, Any] = body.get("properties", {}) if kind in (Kind.CREATE, Kind.UPDATE) else {}
    writes = tuple(name for name in body_props if name in properties)
    timestamps = CREATED_AT in properties and UPDATED_AT in properties
    fields = tuple(name for name in properties if name not in (CREATED_AT, UPDATED_AT) and name not in DERIVED)
    shows_item = kind in (Kind.CREATE, Kind.READ, Kind.UPDATE)
    return OperationFacts(
        op=op,
        kind=kind,
        id_param=id_param["name"] if id_param else None,
        uuid_ids=bool(id_param and id_param.get("schema", {}).get("format") == "uuid"),
        secured=_secured(op),
        credential_status_open=credential_status_open(op),
        writes=writes,
        maps=frozenset(name for name in writes if _is_map(properties[name])),
        defaults={
            name: prop["default"]
            for name, prop in body_props.items()
            if kind is Kind.CREATE and "default" in prop and "x-rule" not in prop and name in writes
        },
        fields=fields,
        summary=tuple(name for name in fields if name in _list_item_fields(api)),
        timestamps=timestamps,
        listing=_list_facts(op) if kind is Kind.LIST else None,
        write=kind in WRITES,
        writes_item=kind in (Kind.UPDATE, Kind.DELETE),
        shows_item=shows_item,
        stamped=shows_item and timestamps,
        pick=_picker(fields),
    )


def _picker(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """`itemgetter(*names)`, a tuple always (itemgetter gives one name's value bare)."""
    pick = itemgetter(*names) if names else (lambda _: ())
    if len(names) == 1:
        return lambda value: (pick(value),)
    return pick


def check_specs() -> None:
    """Read every operation's facts now: a spec the monitor cannot read stops the start."""
    for api in specs.API_NAMES:
        for op in specs.load(api).operations:
            facts_of(api, op.operation_id)


__all__ = [
    "CREATE",
    "DELETE",
    "LIST",
    "READ",
    "UPDATE",
    "WRITES",
    "Kind",
    "ListFacts",
    "OperationFacts",
    "SpecMismatch",
    "check_specs",
    "facts_of",
]
