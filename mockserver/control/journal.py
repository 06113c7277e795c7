"""The request journal: the last N exchanges the APIs had, bounded in bytes, credentials redacted.

What frontend developers (the dashboard, `GET /__mock__/requests`, `convo_mock.calls` in
pytest) read to see what their app sent and what it got back. Control-plane calls under
/__mock__/ are not journaled.

Memory is bounded twice: at most `size` entries, and per entry at most `BODY_CAP` bytes of
each body and `HEADERS_CAP` bytes of each side's headers (anything larger is kept cut, and
marked). Parsed bodies are never kept: a rejected 1 MB body costs the journal 4 KiB.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from specs.integers import ascii_int
from specs.redact import REDACTED, Redactor, is_secret_name, redact_header, redact_headers
from specs.text import shorten

from ..api.request import get as get_info

BODY_CAP = 4096  # bytes kept of each request and response body
HEADERS_CAP = 8192  # bytes kept of each side's headers (names + values)
CUT_MARKER = "[cut by the journal: {kept} of {total} bytes kept]"

RawHeaders = list[tuple[bytes, bytes]]
# (api, lower-case headers) → the tenant's label, or None when the request carried no key.
Labeler = Callable[[str | None, Mapping[str, str]], str | None]


@dataclass(slots=True)
class _Side:
    """One side of an exchange as captured: raw and capped, shaped only when read."""

    headers: RawHeaders | dict[str, str]  # raw, or already redacted and cut when oversized
    body: bytearray | bytes
    total: int  # bytes the body really had

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = BODY_CAP - len(self.body)
        if room > 0 and isinstance(self.body, bytearray):
            self.body += chunk[:room]


def _capped_headers(raw: RawHeaders) -> RawHeaders | dict[str, str]:
    if sum(map(len, itertools.chain.from_iterable(raw))) <= HEADERS_CAP:  # all in C: the hot path
        return raw
    # Oversized: keep a redacted, shortened copy, never the raw megabytes.
    per_value = max(HEADERS_CAP // max(len(raw), 1), 64)
    shaped = redact_headers((n.decode("latin-1"), v.decode("latin-1")) for n, v in raw[:64])
    return {name[:128]: shorten(value, per_value) for name, value in shaped.items()}


# Header names repeat across requests: decide once per name whether it may hold a secret.
_secret_name = functools.lru_cache(maxsize=4096)(is_secret_name)


def _header_dict(headers: RawHeaders | dict[str, str]) -> dict[str, str]:
    """Lower-case names, credential values redacted (as `redact_headers`, names memoised)."""
    if isinstance(headers, dict):
        return headers
    shaped: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        shaped[name] = redact_header(name, value) if _secret_name(name) else value
    return shaped


def _plain_headers(headers: RawHeaders | dict[str, str]) -> dict[str, str]:
    if isinstance(headers, dict):
        return headers
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}


def _body(side: _Side, redactor: Redactor) -> Any:
    """JSON when the whole body was kept and parses; else text, marked when cut."""
    if side.total == 0:
        return None
    if side.total == len(side.body):
        try:
            return redactor.json(orjson.loads(side.body))
        except orjson.JSONDecodeError:
            pass
    text = redactor(side.body.decode("utf-8", errors="replace"))
    if side.total > len(side.body):
        return text + CUT_MARKER.format(kept=len(side.body), total=side.total)
    return text


@dataclass(slots=True)
class Entry:
    id: int
    time: float
    method: str
    path: str
    query: bytes
    status: int  # 0: the connection was closed before any response (a reset fault, a client gone)
    duration: float
    api: str | None
    operation: str | None
    request: _Side
    response: _Side
    fault: str | None
    request_id: int | None = None  # proxy mode: what this request's violations refer to
    tenant: str | None = None
    labelled: bool = False


FILTERS = ("api", "method", "path", "operation", "status", "tenant", "since", "limit")


@dataclass(frozen=True)
class Query:
    """A journal query, as `GET /__mock__/requests` takes it. `path` ending in `*` is a prefix;
    `status` is a code (`404`) or a class (`4xx`); `since` an entry id (newer entries only);
    `limit` keeps the newest N."""

    api: str | None = None
    method: str | None = None
    path: str | None = None
    operation: str | None = None
    status: str | None = None
    tenant: str | None = None
    since: int | None = None
    limit: int | None = None

    @classmethod
    def parse(cls, params: Iterable[tuple[str, str]]) -> Query:
        values: dict[str, str] = {}
        for name, value in params:
            if name not in FILTERS:
                raise ValueError(f"unknown parameter {name[:40]!r}; known: {', '.join(FILTERS)}")
            values[name] = value
        status = values.get("status")
        if status is not None and not (
            (len(status) == 3 and ascii_int(status) is not None)
            or (len(status) == 3 and status[0] in "12345" and status[1:].lower() == "xx")
        ):
            raise ValueError("status must be a code (404) or a class (4xx)")
        numbers: dict[str, int | None] = {}
        for name in ("since", "limit"):
            raw = values.get(name)
            number = None if raw is None or len(raw) > 12 else ascii_int(raw)
            if raw is not None and number is None:
                raise ValueError(f"{name} must be a non-negative integer (ASCII digits)")
            numbers[name] = number
        return cls(
            api=values.get("api"),
            method=values["method"].upper() if "method" in values else None,
            path=values.get("path"),
            operation=values.get("operation"),
            status=status.lower() if status else None,
            tenant=values.get("tenant"),
            since=numbers["since"],
            limit=numbers["limit"],
        )

    def matches(self, entry: Entry, label: Callable[[Entry], str | None]) -> bool:
        if self.since is not None and entry.id <= self.since:
            return False
        if self.method is not None and entry.method != self.method:
            return False
        if self.api is not None and entry.api != self.api:
            return False
        if self.operation is not None and entry.operation != self.operation:
            return False
        if self.path is not None and not (
            entry.path.startswith(self.path[:-1]) if self.path.endswith("*") else entry.path == self.path
        ):
            return False
        if self.status is not None:
            code = str(entry.status)
            if not (code == self.status if self.status[1] != "x" else code[0] == self.status[0]):
                return False
        return self.tenant is None or label(entry) == self.tenant


class Journal:
    """Entries are kept raw and capped, shaped (and redacted) only when read: the hot path pays
    for an append and a few slices, not for decoding headers nobody may ever look at."""

    def __init__(self, size: int, labeler: Labeler | None = None, secrets: Callable[[], Iterable[str]] = tuple) -> None:
        self.entries: deque[Entry] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._labeler = labeler
        self._secrets = secrets

    def clear(self) -> None:
        self.entries.clear()

    def next_id(self) -> int:
        return next(self._ids)

    def label_now(self, entry: Entry, headers: Mapping[str, str]) -> None:
        entry.labelled = True
        if self._labeler is not None:
            entry.tenant = self._labeler(entry.api, headers)

    def _label(self, entry: Entry) -> str | None:
        if not entry.labelled:
            entry.labelled = True
            if self._labeler is not None:
                entry.tenant = self._labeler(entry.api, _plain_headers(entry.request.headers))
        return entry.tenant

    def select(self, query: Query | None = None) -> list[Entry]:
        query = query or Query()
        chosen = [e for e in list(self.entries) if query.matches(e, self._label)]
        if query.limit is not None:
            chosen = chosen[-query.limit :] if query.limit else []
        return chosen

    def read(self, query: Query | None = None) -> list[dict[str, Any]]:
        redactor = Redactor(self._secrets())
        return [self.shape(entry, redactor) for entry in self.select(query)]

    def shape(self, entry: Entry, redactor: Redactor) -> dict[str, Any]:
        return {
            "id": entry.id,
            "time": entry.time,
            "method": entry.method,
            "path": redactor(entry.path),
            "query": redactor.query(entry.query.decode("latin-1")),
            "status": entry.status,
            "duration_ms": round(entry.duration * 1000, 3),
            "api": entry.api,
            "operationId": entry.operation,
            "tenant": self._label(entry),
            "headers": {k: redactor(v) for k, v in _header_dict(entry.request.headers).items()},
            "body": _body(entry.request, redactor),
            "bodyBytes": entry.request.total,
            "fault": entry.fault,
            "requestId": entry.request_id,
            "response": {
                "status": entry.status,
                "headers": {k: redactor(v) for k, v in _header_dict(entry.response.headers).items()},
                "body": _body(entry.response, redactor),
                "bodyBytes": entry.response.total,
            },
        }


FAULT_MESSAGE = "mock.fault"  # {"type": FAULT_MESSAGE, "fault": "what was forced, by whom"}


class JournalMiddleware:
    """Pure ASGI (BaseHTTPMiddleware would cost a task per request)."""

    def __init__(self, app: ASGIApp, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock__") or scope["path"] == "/":
            await self.app(scope, receive, send)
            return
        # The hot path: references and appends only; capping headers and shaping wait until the end.
        started = time.perf_counter()
        request = _Side(scope["headers"], bytearray(), 0)
        chunks: list[bytes] = []  # references while the response is sent; cut at the end
        start: Message | None = None
        fault: str | None = None

        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request.add(message.get("body", b""))
            return message

        # What faults.py follows to reach the server's connection (functools' convention).
        receive_wrapper.__wrapped__ = receive  # type: ignore[attr-defined]

        async def send_wrapper(message: Message) -> None:
            nonlocal start, fault
            kind = message["type"]
            if kind == "http.response.body":
                chunks.append(message.get("body", b""))
            elif kind == "http.response.start":
                start = message
            elif kind == FAULT_MESSAGE:
                # faults.py tells the journal what it did; not an ASGI message, not forwarded.
                fault = message["fault"]
                return
            await send(message)

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            info = get_info(scope)
            request.headers = _capped_headers(scope["headers"])
            # The app's own headers: a handful, never the client's.
            response_headers = start.get("headers") or [] if start is not None else []
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            entry = Entry(
                self.journal.next_id(),
                time.time(),
                scope["method"],
                scope["path"],
                scope["query_string"][:BODY_CAP],
                0 if start is None else start["status"],
                time.perf_counter() - started,
                info.api if info else None,
                info.operation if info else None,
                request,
                _Side(response_headers, body[:BODY_CAP], len(body)),
                fault,
                request_id=info.request_id if info else None,
            )
            if isinstance(request.headers, dict):
                # The raw headers were too big to keep: label the tenant now, while we have them.
                self.journal.label_now(entry, _plain_headers(scope["headers"]))
            self.journal.entries.append(entry)


__all__ = ["BODY_CAP", "HEADERS_CAP", "REDACTED", "Entry", "Journal", "JournalMiddleware", "Query"]
