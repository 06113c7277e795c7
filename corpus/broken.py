"""Deliberately broken servers: the real mock, wrapped by one realistic fault each.

Each fault names the family and check of the conformance suite that must catch it. The
wrapper can rewrite the request before the mock sees it, answer in the mock's place, or
rewrite the mock's answer; some faults reach into the mock's store, as a buggy backend would.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from mockserver import MockConfig, create_app
from mockserver.api.store import RuntypeConversation, Store, decode_cursor, encode_cursor
from specs import API_NAMES, load
from specs.auth import scheme_of

ALICE, BOB, READONLY = "demo-alice", "demo-bob", "demo-readonly"


async def read_body(receive: Receive) -> bytes:
    """The whole request body, read from an ASGI `receive`."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


@dataclass
class Exchange:
    """A request as the fault sees it, and the answer it may rewrite."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None
    raw: bytes
    status: int = 0
    response_headers: dict[str, str] | None = None
    response: Any = None  # parsed JSON answer (None for empty bodies)
    answered: bool = False  # the fault answered without calling the mock

    def answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        self.status, self.response, self.answered = status, body, True
        self.response_headers = {"content-type": content_type}

    @property
    def runtype(self) -> bool:
        return self.path.startswith("/v1/conversations")

    @property
    def systemprompt(self) -> bool:
        return self.path.startswith("/v1/conversation/") or self.path == "/v1/conversation"


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    api: str
    family: str
    check: str
    before: Callable[[Exchange, Store], None] | None = None
    after: Callable[[Exchange, Store], None] | None = None


class Rewrite(Protocol):
    """A fault here, or an allowed choice in `conforming.py`: hooks around the real mock."""

    @property
    def name(self) -> str: ...
    @property
    def before(self) -> Callable[[Exchange, Store], None] | None: ...
    @property
    def after(self) -> Callable[[Exchange, Store], None] | None: ...


class FaultyApp:
    def __init__(self, fault: Rewrite | None, setup: Callable[[Store], None] | None = None) -> None:
        self.fault = fault
        self.mock = create_app(MockConfig())
        self.store: Store = self.mock.state.runtime.store
        if setup is not None:
            setup(self.store)  # e.g. data a real deployment may hold that the demo data does not
        # A fault's own bug would pass for a detected fault: record it, and fail the test.
        self.errors: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.fault is None or scope["path"].startswith("/__mock__"):
            await self.mock(scope, receive, send)
            return
        raw = await read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        exchange = Exchange(scope["method"], scope["path"], scope["query_string"].decode(), headers, body, raw)
        try:
            if self.fault.before:
                self.fault.before(exchange, self.store)
            if not exchange.answered:
                await self._call_mock(scope, exchange)
            if self.fault.after:
                self.fault.after(exchange, self.store)
        except Exception as exc:
            self.errors.append(f"{self.fault.name}: {type(exc).__name__}: {exc} on {exchange.method} {exchange.path}")
            raise
        await self._send(exchange, send)

    async def _call_mock(self, scope: Scope, exchange: Exchange) -> None:
        raw = json.dumps(exchange.body).encode() if exchange.body is not None and exchange.raw else exchange.raw
        headers = [(k.encode(), v.encode()) for k, v in exchange.headers.items() if k != "content-length"]
        headers.append((b"content-length", str(len(raw)).encode()))
        inner: Scope = {**scope, "method": exchange.method, "headers": headers, "query_string": exchange.query.encode()}
        sent = False
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.mock(inner, receive, send)
        data = b"".join(chunks)
        exchange.response = json.loads(data) if data else None

    async def _send(self, exchange: Exchange, send: Send) -> None:
        headers = dict(exchange.response_headers or {})
        content_type = headers.get("content-type", "application/json")
        if exchange.response is None:
            data = b""
        elif content_type.startswith("application/json"):
            data = json.dumps(exchange.response).encode()
        else:
            data = exchange.response if isinstance(exchange.response, bytes) else str(exchange.response).encode()
        headers["content-length"] = str(len(data))
        await send(
            {
                "type": "http.response.start",
                "status": exchange.status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": data})


# --- the faults --------------------------------------------------------------------------


def _writes_body(e: Exchange) -> bool:
    return e.runtype and e.method in ("POST", "PUT") and isinstance(e.body, dict)


def truncate_title(e: Exchange, store: Store) -> None:
    if _writes_body(e) and isinstance(e.body.get("title"), str):
        e.body["title"] = e.body["title"][:500]


def limit_in_bytes(e: Exchange, store: Store) -> None:
    if _writes_body(e):
        for name, limit in (("title", 500), ("modelId", 255), ("ownerId", 255)):
            value = e.body.get(name)
            if isinstance(value, str) and len(value.encode()) > limit:
                e.answer(400, {"error": "bad_request", "message": f"{name} too long"})


def owner_min_ignored(e: Exchange, store: Store) -> None:
    if _writes_body(e) and e.body.get("ownerId") == "":
        e.body["ownerId"] = "anonymous"


def default_title_empty(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "POST" and isinstance(e.body, dict) and "title" not in e.body:
        e.body["title"] = ""


def surface_filter_ignored(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "GET":
        e.query = re.sub(r"(^|&)surface_id=[^&]*", "", e.query).lstrip("&")


def limit_zero_accepted(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "GET":
        e.query = re.sub(r"(^|&)limit=(0|-\d+)(&|$)", r"\1limit=1\3", e.query)


def create_202(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "POST" and e.status == 201:
        e.status = 202


def drop_updated_at(e: Exchange, store: Store) -> None:
    if e.runtype and isinstance(e.response, dict) and "updatedAt" in e.response:
        del e.response["updatedAt"]


def message_count_string(e: Exchange, store: Store) -> None:
    if e.runtype and e.status == 200 and isinstance(e.response, dict):
        for item in e.response.get("conversations", []):
            item["messageCount"] = str(item["messageCount"])


def text_plain(e: Exchange, store: Store) -> None:
    if e.status < 400 and e.response is not None:
        e.response_headers = {"content-type": "text/plain"}
        e.response = json.dumps(e.response)


def ignore_missing_auth(e: Exchange, store: Store) -> None:
    if e.runtype and "authorization" not in e.headers:
        e.headers["authorization"] = f"Bearer {ALICE}"


def accept_unknown_keys(e: Exchange, store: Store) -> None:
    value = e.headers.get("authorization", "")
    if e.runtype and value.startswith("Bearer ") and value[7:] not in (ALICE, BOB, READONLY):
        e.headers["authorization"] = f"Bearer {ALICE}"


def missing_auth_403(e: Exchange, store: Store) -> None:
    if e.runtype and "authorization" not in e.headers:
        e.answer(403, {"error": "forbidden", "message": "no"})


def _act_as(e: Exchange, key: str, instead_of: str, apis: tuple[str, ...] = API_NAMES) -> None:
    """Rewrite the request's credential (by its API's scheme) from one key to another."""
    for api in apis:
        scheme = scheme_of(api)
        if scheme.credential(e.headers).token == instead_of:
            e.headers.update({name.lower(): value for name, value in scheme.headers(key).items()})


def shared_tenant(e: Exchange, store: Store) -> None:
    _act_as(e, ALICE, instead_of=BOB)


def readonly_writes(e: Exchange, store: Store) -> None:
    if e.method != "GET":
        _act_as(e, ALICE, instead_of=READONLY, apis=("runtype",))


def tenant_of(e: Exchange) -> str:
    tokens = (scheme_of(api).credential(e.headers).token for api in API_NAMES)
    return next((t for t in tokens if t), "")


def update_not_persisted(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "PUT" and isinstance(e.body, dict):
        current = store.runtype_get(tenant_of(e), e.path.rsplit("/", 1)[1])
        if current is not None:
            answer = {
                **current.to_json(),
                **{k: v for k, v in e.body.items() if k in current.to_json()},
                "updatedAt": store.clock.now(),
            }
            e.answer(200, answer)


def reset_omitted_fields(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "PUT" and isinstance(e.body, dict):
        e.body = {"modelId": "default-model", "metadata": {}, **e.body}


def append_messages(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "PUT" and isinstance(e.body, dict) and isinstance(e.body.get("messages"), list):
        current = store.runtype_get(tenant_of(e), e.path.rsplit("/", 1)[1])
        if current is not None and isinstance(current.messages, list):
            e.body["messages"] = [*current.messages, *e.body["messages"]]


def delete_does_nothing(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "DELETE" and store.runtype_get(tenant_of(e), e.path.rsplit("/", 1)[1]) is not None:
        e.answer(200, {"success": True})


def freeze_updated_at(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "PUT" and e.status == 200 and isinstance(e.response, dict):
        conversation = store.runtype_get(tenant_of(e), e.response["id"])
        if conversation is not None:
            conversation.updatedAt = conversation.createdAt
            e.response["updatedAt"] = conversation.createdAt


def move_created_at(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "PUT" and e.status == 200 and isinstance(e.response, dict):
        conversation = store.runtype_get(tenant_of(e), e.response["id"])
        if conversation is not None:
            conversation.createdAt = conversation.updatedAt
            e.response["createdAt"] = conversation.updatedAt


def drop_newest(e: Exchange, store: Store) -> None:
    if (
        e.runtype
        and e.method == "GET"
        and e.path == "/v1/conversations"
        and e.status == 200
        and isinstance(e.response, dict)
        and "cursor=" not in e.query
    ):
        e.response["conversations"] = e.response["conversations"][1:]


def cursor_repeats(e: Exchange, store: Store) -> None:
    if (
        e.runtype
        and e.status == 200
        and isinstance(e.response, dict)
        and (e.response.get("pagination") or {}).get("nextCursor")
    ):
        seq = decode_cursor(e.response["pagination"]["nextCursor"])
        if seq is not None:
            e.response["pagination"]["nextCursor"] = encode_cursor(seq + 1)


def crash_on_unicode(e: Exchange, store: Store) -> None:
    if e.raw and any(b > 127 for b in e.raw):
        e.answer(500, b"Internal Server Error", "text/plain")


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def crash_on_nesting(e: Exchange, store: Store) -> None:
    if _depth(e.body) > 2:
        e.answer(500, b"RecursionError", "text/plain")


def systemprompt_not_persisted(e: Exchange, store: Store) -> None:
    if e.systemprompt and e.method == "PUT" and isinstance(e.body, dict) and isinstance(e.body.get("metadata"), dict):
        conversation = store.systemprompt_get(tenant_of(e), e.path.rsplit("/", 1)[1].lower())
        if conversation is not None:
            answer = conversation.to_json(f"http://{e.headers.get('host', 'localhost')}")
            answer["metadata"] = {**answer["metadata"], **e.body["metadata"]}
            e.answer(200, answer)


def systemprompt_shared_tenant(e: Exchange, store: Store) -> None:
    _act_as(e, ALICE, instead_of=BOB, apis=("systemprompt",))


# --- issue 19: behaviour over time (what the proxy's monitor sees across exchanges) -------

# A buggy backend's own memory (a cache, a trash, a snapshot), kept per mock store.
_MEMO: weakref.WeakKeyDictionary[Store, dict[str, Any]] = weakref.WeakKeyDictionary()


def _memo(store: Store, name: str) -> Any:
    return _MEMO.setdefault(store, {}).setdefault(name, {})


def _item_id(e: Exchange) -> str:
    return e.path.rsplit("/", 1)[1]


def _runtype_item(e: Exchange) -> bool:
    return e.runtype and e.path.count("/") == 3


def _runtype_list(e: Exchange) -> bool:
    return e.runtype and e.method == "GET" and e.path == "/v1/conversations"


def limit_ignored(e: Exchange, store: Store) -> None:
    if _runtype_list(e):
        e.query = re.sub(r"(^|&)limit=[1-9]\d*(?=&|$)", "", e.query).lstrip("&")


def owner_filter_ignored(e: Exchange, store: Store) -> None:
    if _runtype_list(e):
        e.query = re.sub(r"(^|&)ownerId=[^&]*", "", e.query).lstrip("&")


def cursor_page_skips_first(e: Exchange, store: Store) -> None:
    if _runtype_list(e) and e.status == 200 and isinstance(e.response, dict) and "cursor=" in e.query:
        e.response["conversations"] = e.response["conversations"][1:]


def created_at_from_updated_at(e: Exchange, store: Store) -> None:
    if _runtype_item(e) and e.method == "GET" and e.status == 200 and isinstance(e.response, dict):
        e.response["createdAt"] = e.response["updatedAt"]


def create_title_stored_capitalized(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "POST" and e.status == 201 and isinstance(e.response, dict):
        conversation = store.runtype_get(tenant_of(e), e.response["id"])
        if conversation is not None:  # answered as sent, stored "normalized"
            conversation.title = conversation.title.capitalize()


def systemprompt_update_renumbers_messages(e: Exchange, store: Store) -> None:
    if e.systemprompt and e.method == "PUT" and isinstance(e.body, dict):
        conversation = store.systemprompt_get(tenant_of(e), _item_id(e).lower())
        if conversation is not None:  # the update saves the messages again under new ids
            conversation.message = [{**m, "id": str(uuid.uuid4())} for m in conversation.message]


def delete_twice_succeeds(e: Exchange, store: Store) -> None:
    if _runtype_item(e) and e.method == "DELETE" and store.runtype_get(tenant_of(e), _item_id(e)) is None:
        e.answer(200, {"success": True})


def soft_delete_still_listed(e: Exchange, store: Store) -> None:
    trash = _memo(store, "trash")
    key = (tenant_of(e), _item_id(e)) if _runtype_item(e) else None
    if key is None:
        return
    if not e.status and key in trash:
        e.answer(404, {"error": "not_found", "message": f"conversation {key[1]!r} not found"})
    elif not e.status and e.method == "DELETE":
        trash[("pending", *key)] = store.runtype_get(*key)
    elif e.method == "DELETE" and 200 <= e.status < 300 and not e.answered:
        conversation = trash.pop(("pending", *key), None)
        if conversation is not None:  # flagged deleted, still stored: the list query forgets the flag
            store.tenant(key[0]).runtype.add(conversation)
            trash[key] = True


def stale_list_summary(e: Exchange, store: Store) -> None:
    snapshots = _memo(store, "summaries")
    if e.runtype and e.method == "POST" and e.status == 201 and isinstance(e.response, dict):
        snapshots[e.response["id"]] = {k: e.response[k] for k in ("title", "modelId", "ownerId", "updatedAt")}
    elif _runtype_list(e) and e.status == 200 and isinstance(e.response, dict):
        for item in e.response["conversations"]:
            item.update(snapshots.get(item["id"], {}))  # served from the index made at creation


def updated_at_only_with_title(e: Exchange, store: Store) -> None:
    before = _memo(store, "updated")
    if _runtype_item(e) and e.method == "PUT" and not e.status:
        current = store.runtype_get(tenant_of(e), _item_id(e))
        before[_item_id(e)] = current.updatedAt if current is not None else None
    elif _runtype_item(e) and e.method == "PUT" and e.status == 200 and isinstance(e.body, dict):
        kept = before.pop(_item_id(e), None)
        conversation = store.runtype_get(tenant_of(e), _item_id(e))
        if "title" not in e.body and kept is not None and conversation is not None:
            conversation.updatedAt = e.response["updatedAt"] = kept


def update_applied_to_original(e: Exchange, store: Store) -> None:
    originals = _memo(store, "originals")
    if e.runtype and e.method == "POST" and e.status == 201 and isinstance(e.response, dict):
        originals[e.response["id"]] = copy.deepcopy(e.response)
    elif _runtype_item(e) and e.method == "PUT" and not e.status and isinstance(e.body, dict):
        conversation = store.runtype_get(tenant_of(e), _item_id(e))
        original = originals.get(_item_id(e))
        if conversation is not None and original is not None:  # each update starts from the created one
            for name in ("title", "modelId", "systemPrompt", "ownerId", "metadata", "messages"):
                setattr(conversation, name, copy.deepcopy(original[name]))


def read_cache_stale(e: Exchange, store: Store) -> None:
    cache = _memo(store, "reads")
    key = (tenant_of(e), _item_id(e)) if _runtype_item(e) else None
    if key is None:
        return
    if e.method == "DELETE":
        cache.pop(key, None)
    elif e.method == "GET" and not e.status and key in cache:
        e.answer(200, copy.deepcopy(cache[key]))
    elif e.method == "GET" and e.status == 200 and not e.answered:
        cache[key] = copy.deepcopy(e.response)


def systemprompt_page_ignored(e: Exchange, store: Store) -> None:
    if e.systemprompt and e.method == "GET" and e.path == "/v1/conversation":
        e.query = re.sub(r"(^|&)page=\d+", "", e.query).lstrip("&")


# issue 20: verdict policy
GATEWAY_404 = b"<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><hr>nginx</body></html>"


def gateway_404_page(e: Exchange, store: Store) -> None:
    """A gateway in front answers an unknown conversation with its own HTML page."""
    if e.runtype and e.status == 404:
        e.response_headers = {"content-type": "text/html"}
        e.response = GATEWAY_404


# --- issue 20: faults only a sequence shows (the model family) -------------------------------
# Each answers every single request plausibly; only a later request, compared with what an
# earlier one wrote or read, proves the fault. Their state lives beside the mock's store.

_STATES: weakref.WeakKeyDictionary[Store, dict[str, Any]] = weakref.WeakKeyDictionary()


def _state(store: Store, name: str, factory: Callable[[], Any] = dict) -> Any:
    states = _STATES.setdefault(store, {})
    if name not in states:
        states[name] = factory()
    return states[name]


def _item(e: Exchange) -> str | None:
    """The id (uuid) of an item path, None for a collection path."""
    parts = e.path.split("/")
    return parts[3] if len(parts) == 4 and parts[3] else None


def _link(e: Exchange) -> str:
    return f"http://{e.headers.get('host', 'localhost')}"


def list_touches_updated_at(e: Exchange, store: Store) -> None:
    """A list marks what it shows as seen by writing updatedAt (a 'last seen' column confused
    with the last update)."""
    if _runtype_list(e) and e.status == 200 and isinstance(e.response, dict):
        for item in e.response.get("conversations", []):
            conversation = store.runtype_get(tenant_of(e), item["id"])
            if conversation is not None:
                conversation.updatedAt = item["updatedAt"] = store.clock.now()


def get_cache_before(e: Exchange, store: Store) -> None:
    """A read cache filled by gets and emptied by deletes, but not by updates."""
    cache, key = _state(store, "get-cache"), (tenant_of(e), _item(e))
    if not e.runtype or key[1] is None:
        return
    if e.method == "GET" and key in cache:
        e.answer(200, copy.deepcopy(cache[key]))
    elif e.method == "DELETE":
        cache.pop(key, None)


def get_cache_after(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "GET" and _item(e) and e.status == 200 and not e.answered:
        _state(store, "get-cache")[(tenant_of(e), _item(e))] = copy.deepcopy(e.response)


def _matches_query(summary: dict[str, Any], query: str) -> bool:
    wanted = {k: v for k, v in parse_qsl(query) if k not in ("limit", "cursor")}
    return all(summary.get(k) == v for k, v in wanted.items())


def ghosts_before(e: Exchange, store: Store) -> None:
    """The list's index keeps deleted conversations: remember what a delete removes."""
    if e.runtype and e.method == "DELETE" and _item(e):
        conversation = store.runtype_get(tenant_of(e), _item(e) or "")
        if conversation is not None:
            _state(store, "ghosts", lambda: {}).setdefault(tenant_of(e), []).append(conversation.summary())


def ghosts_after(e: Exchange, store: Store) -> None:
    """First pages (that have room) show the deleted conversations that match, newest first."""
    if not (_runtype_list(e) and e.status == 200 and isinstance(e.response, dict)) or "cursor=" in e.query:
        return
    page, pagination = e.response["conversations"], e.response["pagination"]
    ghosts = [g for g in reversed(_state(store, "ghosts").get(tenant_of(e), [])) if _matches_query(g, e.query)]
    room = pagination["limit"] - len(page)
    if ghosts and room > 0:
        e.response["conversations"] = ghosts[:room] + page


def owner_index_before(e: Exchange, store: Store) -> None:
    """ownerId updates reach what is shown, not the index the ownerId filter reads: remember
    the indexed owner before the update (the mock validates and stores it as usual)."""
    current = store.runtype_get(tenant_of(e), _item(e) or "") if e.runtype and e.method == "PUT" else None
    if current is not None and isinstance(e.body, dict) and isinstance(e.body.get("ownerId"), str):
        _state(store, "indexed")[(tenant_of(e), current.id)] = current.ownerId


def owner_index_after(e: Exchange, store: Store) -> None:
    shown, indexed, key = _state(store, "owners"), _state(store, "indexed"), (tenant_of(e), _item(e))
    if key in indexed:
        owner = indexed.pop(key)
        conversation = store.runtype_get(tenant_of(e), _item(e) or "")
        if e.status == 200 and conversation is not None:
            shown[key], conversation.ownerId = conversation.ownerId, owner
    if not (e.runtype and isinstance(e.response, dict) and 200 <= e.status < 300):
        return
    items = e.response.get("conversations") if _runtype_list(e) else [e.response]
    for item in items or []:
        if isinstance(item, dict) and (tenant_of(e), item.get("id")) in shown:
            item["ownerId"] = shown[(tenant_of(e), item["id"])]


def cursor_drops_filters(e: Exchange, store: Store) -> None:
    """The next page is cut from the whole list: the cursor keeps the position, not the filters."""
    if _runtype_list(e) and "cursor=" in e.query:
        kept = [(k, v) for k, v in parse_qsl(e.query) if k in ("limit", "cursor")]
        e.query = "&".join(f"{k}={v}" for k, v in kept)


def list_cache_before(e: Exchange, store: Store) -> None:
    """Pages cached by their query string alone, emptied by any write: a page one key asked
    for is served to the next key that asks the same."""
    cache = _state(store, "list-cache")
    if _runtype_list(e) and e.query in cache and tenant_of(e) in store.tenants:  # behind the key check
        e.answer(200, copy.deepcopy(cache[e.query]))
    elif e.runtype and e.method in ("POST", "PUT", "DELETE"):
        cache.clear()


def list_cache_after(e: Exchange, store: Store) -> None:
    if _runtype_list(e) and e.status == 200 and not e.answered:
        _state(store, "list-cache")[e.query] = copy.deepcopy(e.response)


def messages_cleared(e: Exchange, store: Store) -> None:
    """An update that does not send `messages` stores an empty list (a form default)."""
    if e.runtype and e.method == "PUT" and isinstance(e.body, dict) and "messages" not in e.body:
        e.body["messages"] = []


def tombstone_before(e: Exchange, store: Store) -> None:
    """A delete keeps a tombstone, and an update of a deleted id brings it back (an upsert)."""
    tombs, key = _state(store, "tombs"), (tenant_of(e), _item(e) or "")
    if not e.runtype or not _item(e):
        return
    current = store.runtype_get(*key)
    if e.method == "DELETE" and current is not None:
        tombs[key] = copy.deepcopy(current.dump())
    elif e.method == "PUT" and current is None and key in tombs:
        store.tenant(key[0]).runtype.add(RuntypeConversation(store._next_seq(), tombs.pop(key)))


def stale_message_count(e: Exchange, store: Store) -> None:
    """The list's messageCount is counted once, at create, and never again."""
    counts = _state(store, "counts")
    if e.runtype and e.method == "POST" and e.status == 201 and isinstance(e.response, dict):
        counts[(tenant_of(e), e.response["id"])] = len(e.response.get("messages") or [])
    elif _runtype_list(e) and e.status == 200 and isinstance(e.response, dict):
        for item in e.response["conversations"]:
            item["messageCount"] = counts.setdefault((tenant_of(e), item["id"]), item["messageCount"])


def upper_case_copy(e: Exchange, store: Store) -> None:
    """An upper-case uuid is looked up lower-cased for reads but written to a copy of its own."""
    uuid = _item(e)
    if not e.systemprompt or uuid is None or uuid == uuid.lower():
        return
    copies, key = _state(store, "copies"), (tenant_of(e), uuid)
    real = store.systemprompt_get(tenant_of(e), uuid.lower())
    if real is None:
        return
    if e.method == "PUT" and isinstance(e.body, dict) and isinstance(e.body.get("metadata"), dict):
        shadow = copies.get(key) or copy.deepcopy(real.to_json(_link(e)))
        shadow["metadata"] = {**shadow["metadata"], **e.body["metadata"]}
        copies[key] = shadow
        e.answer(200, copy.deepcopy(shadow))
    elif e.method == "GET" and key in copies:
        e.answer(200, copy.deepcopy(copies[key]))


def page_overlap(e: Exchange, store: Store) -> None:
    """Pages after the first start one conversation early when `limit` is not the default."""
    if not (e.systemprompt and e.method == "GET" and e.path == "/v1/conversation"):
        return
    query = dict(parse_qsl(e.query))
    limit_param = load("systemprompt").operation("listConversations").parameter("limit") or {}
    default = limit_param.get("schema", {}).get("default")
    try:
        page, limit = int(query.get("page", "1")), int(query.get("limit", str(default)))
    except ValueError:
        return
    if page >= 2 and limit >= 1 and limit != default:
        items = list(store.tenant(tenant_of(e)).systemprompt.values())
        start = (page - 1) * limit - 1
        e.answer(200, [c.to_json(_link(e)) for c in items[start : start + limit]])


def update_leaks_to_siblings(e: Exchange, store: Store) -> None:
    """A metadata update is merged into every conversation of the tenant (one shared object)."""
    written = store.systemprompt_get(tenant_of(e), (_item(e) or "").lower()) if e.systemprompt else None
    sent = e.body.get("metadata") if isinstance(e.body, dict) else None
    if e.method == "PUT" and e.status == 200 and written is not None and isinstance(sent, dict):
        # What the mock stored (it validated it), not the request's text.
        merged = {k: written.metadata[k] for k in sent if k in written.metadata}
        for conversation in store.tenant(tenant_of(e)).systemprompt.values():
            conversation.metadata = {**conversation.metadata, **merged}


FAULTS = [
    Fault(
        "title_limit_not_enforced",
        "a 501-character title is accepted (cut to 500)",
        "runtype",
        "boundaries",
        "max_length_rejected",
        before=truncate_title,
    ),
    Fault(
        "limits_in_bytes",
        "limits counted in UTF-8 bytes: 500 emoji are refused",
        "runtype",
        "boundaries",
        "max_length_accepted",
        before=limit_in_bytes,
    ),
    Fault(
        "owner_min_length_ignored",
        "an empty ownerId is accepted",
        "runtype",
        "boundaries",
        "min_length",
        before=owner_min_ignored,
    ),
    Fault(
        "default_title_missing",
        "create without a title stores an empty title",
        "runtype",
        "boundaries",
        "defaults_applied",
        before=default_title_empty,
    ),
    Fault(
        "limit_zero_accepted",
        "list accepts limit=0",
        "runtype",
        "boundaries",
        "query_bounds",
        before=limit_zero_accepted,
    ),
    Fault(
        "create_answers_202",
        "create answers 202, a status the spec does not document",
        "runtype",
        "schemathesis",
        "status_code_conformance",
        after=create_202,
    ),
    Fault(
        "missing_updated_at",
        "conversations come back without updatedAt",
        "runtype",
        "schemathesis",
        "response_schema_conformance",
        after=drop_updated_at,
    ),
    Fault(
        "message_count_string",
        "list items carry messageCount as a string",
        "runtype",
        "schemathesis",
        "response_schema_conformance",
        after=message_count_string,
    ),
    Fault(
        "wrong_content_type",
        "successful answers are text/plain",
        "runtype",
        "schemathesis",
        "content_type_conformance",
        after=text_plain,
    ),
    Fault(
        "auth_ignored",
        "requests without credentials act as the first tenant",
        "runtype",
        "auth",
        "credentials_required",
        before=ignore_missing_auth,
    ),
    Fault(
        "unknown_key_accepted",
        "any bearer token is accepted",
        "runtype",
        "auth",
        "credentials_required",
        before=accept_unknown_keys,
    ),
    Fault(
        "missing_credentials_403",
        "missing credentials answer 403, not 401",
        "runtype",
        "auth",
        "credentials_required",
        before=missing_auth_403,
    ),
    Fault(
        "tenant_isolation_broken",
        "two keys share one tenant",
        "runtype",
        "auth",
        "tenant_isolation",
        before=shared_tenant,
    ),
    Fault(
        "readonly_key_can_write",
        "the read-only key may write",
        "runtype",
        "auth",
        "readonly_forbidden",
        before=readonly_writes,
    ),
    Fault(
        "update_not_persisted",
        "update answers the new state but stores nothing",
        "runtype",
        "semantics",
        "update_persisted",
        before=update_not_persisted,
    ),
    Fault(
        "update_resets_omitted_fields",
        "update resets fields it was not sent",
        "runtype",
        "semantics",
        "partial_update",
        before=reset_omitted_fields,
    ),
    Fault(
        "messages_appended",
        "update appends messages instead of replacing them",
        "runtype",
        "semantics",
        "messages_replaced",
        before=append_messages,
    ),
    Fault(
        "delete_not_deleting",
        "delete answers success and keeps the conversation",
        "runtype",
        "semantics",
        "delete_then_get",
        before=delete_does_nothing,
    ),
    Fault(
        "updated_at_frozen",
        "updatedAt does not move on update",
        "runtype",
        "semantics",
        "timestamps",
        after=freeze_updated_at,
    ),
    Fault(
        "created_at_moves", "createdAt changes on update", "runtype", "semantics", "timestamps", after=move_created_at
    ),
    Fault(
        "list_misses_newest",
        "the first list page leaves out the newest conversation",
        "runtype",
        "semantics",
        "list_contains_created",
        after=drop_newest,
    ),
    Fault(
        "surface_filter_ignored",
        "the list ignores its documented surface_id filter",
        "runtype",
        "semantics",
        "list_filters",
        before=surface_filter_ignored,
    ),
    Fault(
        "pagination_repeats",
        "nextCursor points one item back: pages repeat items",
        "runtype",
        "semantics",
        "pagination",
        after=cursor_repeats,
    ),
    Fault(
        "crash_on_unicode",
        "any non-ASCII body crashes the server (500, text/plain)",
        "runtype",
        "boundaries",
        "not_a_server_error",
        before=crash_on_unicode,
    ),
    Fault(
        "crash_on_nesting",
        "nested JSON bodies crash the server (500)",
        "runtype",
        "schemathesis",
        "not_a_server_error",
        before=crash_on_nesting,
    ),
    Fault(
        "systemprompt_update_not_persisted",
        "systemprompt.io update answers the change but stores nothing",
        "systemprompt",
        "semantics",
        "update_persisted",
        before=systemprompt_not_persisted,
    ),
    Fault(
        "systemprompt_tenant_shared",
        "systemprompt.io: two keys share one tenant",
        "systemprompt",
        "auth",
        "tenant_isolation",
        before=systemprompt_shared_tenant,
    ),
    # issue 19: behaviour over time. Each is invisible in any one answer's shape; the proxy's
    # monitor sees it across exchanges. No check of boundaries, auth or semantics catches the
    # "model" ones; the model family does, with the check named.
    Fault(
        "list_limit_ignored",
        "the list ignores a valid limit and serves its default page",
        "runtype",
        "semantics",
        "pagination",
        before=limit_ignored,
    ),
    Fault(
        "owner_filter_ignored",
        "the list ignores its ownerId filter",
        "runtype",
        "semantics",
        "list_filters",
        before=owner_filter_ignored,
    ),
    Fault(
        "cursor_page_skips_first",
        "a page fetched with a cursor leaves out its first item",
        "runtype",
        "semantics",
        "list_contains_created",
        after=cursor_page_skips_first,
    ),
    Fault(
        "created_at_from_updated_at",
        "get serves updatedAt as createdAt",
        "runtype",
        "semantics",
        "timestamps",
        after=created_at_from_updated_at,
    ),
    Fault(
        "create_title_stored_capitalized",
        "create answers the title as sent but stores it capitalized",
        "runtype",
        "semantics",
        "create_then_get",
        after=create_title_stored_capitalized,
    ),
    Fault(
        "systemprompt_update_renumbers_messages",
        "systemprompt.io: a metadata update saves the messages again under new ids",
        "systemprompt",
        "semantics",
        "partial_update",
        before=systemprompt_update_renumbers_messages,
    ),
    Fault(
        "delete_twice_succeeds",
        "deleting a conversation that is gone answers 200",
        "runtype",
        "semantics",
        "delete_twice",
        before=delete_twice_succeeds,
    ),
    Fault(
        "soft_delete_still_listed",
        "delete hides the conversation from get but the list still shows it",
        "runtype",
        "model",
        "deleted_stays_deleted",
        before=soft_delete_still_listed,
        after=soft_delete_still_listed,
    ),
    Fault(
        "stale_list_summary",
        "list summaries keep the title and updatedAt the conversation was created with",
        "runtype",
        "model",
        "list_matches_model",
        after=stale_list_summary,
    ),
    Fault(
        "updated_at_only_with_title",
        "updatedAt moves only when an update changes the title",
        "runtype",
        "model",
        "timestamps",
        before=updated_at_only_with_title,
        after=updated_at_only_with_title,
    ),
    Fault(
        "update_applied_to_original",
        "each update is applied to the conversation as created: earlier updates are lost",
        "runtype",
        "model",
        "merge_semantics",
        before=update_applied_to_original,
        after=update_applied_to_original,
    ),
    Fault(
        "read_cache_stale",
        "get serves the answer of the first get until the conversation is deleted",
        "runtype",
        "model",
        "read_your_writes",
        before=read_cache_stale,
        after=read_cache_stale,
    ),
    Fault(
        "systemprompt_page_ignored",
        "systemprompt.io: the list ignores page and always serves the first",
        "systemprompt",
        "model",
        "pages_consistent",
        before=systemprompt_page_ignored,
    ),
    # issue 20: verdict policy (an answer that is no JSON at all is a failure, errors included)
    Fault(
        "error_page_not_json",
        "an unknown conversation's 404 is a gateway's text/html page",
        "runtype",
        "semantics",
        "response_matches_spec",
        after=gateway_404_page,
    ),
    # --- issue 20: sequence-dependent faults, caught by the model family only -------------
    Fault(
        "list_touches_updated_at",
        "listing a conversation moves its updatedAt (a 'last seen' column)",
        "runtype",
        "model",
        "timestamps",
        after=list_touches_updated_at,
    ),
    Fault(
        "get_cache_not_invalidated",
        "reads are cached until a delete: a get after an update shows the old conversation",
        "runtype",
        "model",
        "read_your_writes",
        before=get_cache_before,
        after=get_cache_after,
    ),
    Fault(
        "deleted_still_listed",
        "deleted conversations stay on first pages (the list index keeps them)",
        "runtype",
        "model",
        "deleted_stays_deleted",
        before=ghosts_before,
        after=ghosts_after,
    ),
    Fault(
        "owner_filter_index_stale",
        "an updated ownerId is shown but the ownerId filter still finds the old one",
        "runtype",
        "model",
        "list_matches_model",
        before=owner_index_before,
        after=owner_index_after,
    ),
    Fault(
        "cursor_drops_filters",
        "pages after the first ignore the list's filters",
        "runtype",
        "model",
        "list_matches_model",
        before=cursor_drops_filters,
    ),
    Fault(
        "list_cache_ignores_tenant",
        "list pages cached by query string alone: another key asking the same gets them",
        "runtype",
        "model",
        "tenants_apart",
        before=list_cache_before,
        after=list_cache_after,
    ),
    Fault(
        "messages_cleared_by_partial_update",
        "an update without `messages` empties them",
        "runtype",
        "model",
        "merge_semantics",
        before=messages_cleared,
    ),
    Fault(
        "update_revives_deleted",
        "an update of a deleted conversation brings it back (an upsert from a tombstone)",
        "runtype",
        "model",
        "deleted_stays_deleted",
        before=tombstone_before,
    ),
    Fault(
        "message_count_stale",
        "the list's messageCount is the count at create, never updated",
        "runtype",
        "model",
        "list_matches_model",
        after=stale_message_count,
    ),
    Fault(
        "upper_case_uuid_writes_a_copy",
        "systemprompt.io: an update through an upper-case uuid writes a copy the lower-case uuid never shows",
        "systemprompt",
        "model",
        "read_your_writes",
        before=upper_case_copy,
    ),
    Fault(
        "pages_overlap_with_custom_limit",
        "systemprompt.io: with a limit other than the default, pages after the first start one early",
        "systemprompt",
        "model",
        "pages_consistent",
        before=page_overlap,
    ),
    Fault(
        "update_leaks_to_siblings",
        "systemprompt.io: a metadata update is merged into every conversation of the key",
        "systemprompt",
        "model",
        "list_matches_model",
        after=update_leaks_to_siblings,
    ),
]
