"""The request journal: the last N exchanges the APIs had, bounded in bytes, credentials redacted.

What frontend developers (the dashboard, `GET /__mock__/requests`, `convo_mock.calls` in
pytest) read to see what their app sent and what it got back. Control-plane calls under
/__mock__/ are not journaled.

Memory is bounded twice: at most `size` entries, and every field of an entry capped: at
most `BODY_CAP` bytes of each body (a streamed answer of any size keeps its first
`BODY_CAP` bytes, never more), `HEADERS_CAP` and `RESPONSE_HEADERS_CAP` bytes of the
headers, `URL_CAP` of the path and of the query string (anything larger is kept cut, and
marked). Parsed bodies are
never kept: a rejected 1 MB body costs the journal 4 KiB. A full journal of hostile entries
(every field at its cap) stays within `tests/mockserver/control/test_journal_bounds.py`'s
bound, which docs/mock.md states.

Credentials are redacted when the journal is read, never stored redacted (a key learnt later
still hides the entries before it): by name (`specs.redact`), and by value, the mock's own
keys and the last `REMEMBERED_SECRETS` credentials the proxy saw (`remember_secret`).
"""

from __future__ import annotations

import functools
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Scope

from specs.integers import ascii_int
from specs.redact import REDACTED, Redactor, is_secret_name, redact_header
from specs.text import ELLIPSIS, shorten

from ..api.request import get as get_info

BODY_CAP = 4096  # bytes kept of each request and response body
# Bytes kept of a request's and of an answer's headers, each header counting HEADER_COST
# more than its text: what keeping it costs (a tuple of two bytes objects). Past the cap a
# shortened copy is kept, one block of text.
HEADERS_CAP = 8192
RESPONSE_HEADERS_CAP = 4096  # the mock's own are a handful; the proxy's upstream's are its
HEADER_COST = 128
URL_CAP = 1024  # bytes kept of the path (UTF-8) and of the query string
CUT_MARKER = "[cut by the journal: {kept} of {total} bytes kept]"
# Credentials the proxy saw its clients send, redacted by value (least recently seen go
# first); each remembered by at most its first SECRET_CHARS characters, which hide every
# whole copy of a longer one.
REMEMBERED_SECRETS = 256
SECRET_CHARS = 1024

RawHeaders = list[tuple[bytes, bytes]]
# (api, lower-case headers) → the tenant's label, or None when the request carried no key.
Labeler = Callable[[str | None, Mapping[str, str]], str | None]


def keep(kept: bytes | bytearray, chunk: bytes) -> bytes | bytearray:
    """What a body keeps after `chunk`: at most its first BODY_CAP bytes, the first chunk by
    reference when it fits (no copy), a bytearray once a second one adds to it."""
    room = BODY_CAP - len(kept)
    if room <= 0:
        return kept
    piece = chunk[:room]  # the chunk itself when it fits
    if not kept:
        return piece if type(piece) is bytes else bytes(piece)
    if type(kept) is bytearray:
        kept += piece
        return kept
    return bytearray(kept) + piece


def _capped_headers(raw: RawHeaders, cap: int, size: int | None = None) -> RawHeaders | bytes:
    """`raw` itself when it fits in `cap` (`size`: its names' and values' bytes, if known),
    else a cut copy."""
    if size is None:
        size = sum([len(name) + len(value) for name, value in raw])
    if size + HEADER_COST * len(raw) <= cap:
        return raw
    return _cut_headers(raw, cap)


_CUT = b"\x00"  # ends a value cut short (a parsed header value never holds NUL)
_MORE = "..."  # the name under which a cut block says how many headers it left out


def _cut_headers(raw: RawHeaders, cap: int) -> bytes:
    """Too many or too large to keep as they came: `name: value` lines within `cap`, values
    redacted by name and cut to an equal share, and how many headers were left out."""
    count = min(len(raw), cap // HEADER_COST)
    share = cap // max(count, 1)
    lines = []
    for raw_name, raw_value in raw[:count]:
        name = raw_name[:64].lower()
        value = raw_value
        if is_secret_name(name.decode("latin-1")):
            value = redact_header(name.decode("latin-1"), value.decode("latin-1")).encode("latin-1")
        room = max(share - len(name) - 3, 8)
        lines.append(name + b": " + (value if len(value) <= room else value[: room - 1] + _CUT))
    if len(raw) > count:
        lines.append(f"{_MORE}: {len(raw) - count} more headers not kept".encode())
    return b"\n".join(lines)


# Header names repeat across requests: decide once per name whether it may hold a secret.
_secret_name = functools.lru_cache(maxsize=4096)(is_secret_name)


def _header_dict(headers: RawHeaders | bytes, redactor: Redactor) -> dict[str, str]:
    """Lower-case names, credential values redacted: by name (names memoised), then by value."""
    shaped: dict[str, str] = {}
    if isinstance(headers, bytes):
        for line in headers.decode("latin-1").split("\n"):
            name, _, value = line.partition(": ")
            # A value cut short may end in the start of a key.
            cut = value.endswith("\x00")
            shaped[redactor(name)] = redactor.prefix(value[:-1]) + ELLIPSIS if cut else redactor(value)
        return shaped
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        # Only short names are memoised: a cache of 4096 hostile 8 KiB names would be 32 MiB.
        secret = _secret_name(name) if len(name) <= 64 else is_secret_name(name)
        shaped[redactor(name)] = redactor(redact_header(name, value) if secret else value)
    return shaped


def _plain_headers(headers: RawHeaders) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}


def _cut_path(path: str) -> tuple[str, bool]:
    """At most URL_CAP bytes of the path: characters outside ASCII count four."""
    limit = URL_CAP if path.isascii() else URL_CAP // 4
    return path[:limit], len(path) > limit


def _body(body: bytes | bytearray, total: int, redactor: Redactor) -> Any:
    """JSON when the whole body was kept and parses; else text, marked when cut."""
    if total == 0:
        return None
    if total == len(body):
        try:
            return redactor.json(orjson.loads(body))
        except orjson.JSONDecodeError:
            pass
    text = body.decode("utf-8", errors="replace")
    if total > len(body):
        return redactor.prefix(text) + CUT_MARKER.format(kept=len(body), total=total)
    return redactor(text)


def _path(entry: Entry, redactor: Redactor) -> str:
    if not entry.path_cut:
        return redactor(entry.path)
    return redactor.prefix(entry.path) + ELLIPSIS


def _query(entry: Entry, redactor: Redactor) -> str:
    raw = entry.query.decode("latin-1")
    if not entry.query_cut:
        return redactor.query(raw)
    # The parameter the cap cut through is dropped whole: half a value is no value.
    kept = raw.rpartition("&")[0]
    return redactor.query(kept) + ("&" if kept else "") + ELLIPSIS


@dataclass(slots=True)
class Entry:
    id: int
    time: float
    method: str
    path: str  # at most URL_CAP bytes
    query: bytes  # at most URL_CAP bytes
    status: int  # 0: the connection was closed before any response (a reset fault, a client gone)
    duration: float
    api: str | None
    operation: str | None
    # Each side raw and capped, shaped only when read: the headers as the server parsed them
    # (or, past the cap, a redacted and cut block of text), the body's first BODY_CAP bytes,
    # and how many bytes the body really had.
    request_headers: RawHeaders | bytes
    request_body: bytes | bytearray
    request_bytes: int
    response_headers: RawHeaders | bytes
    response_body: bytes | bytearray
    response_bytes: int
    fault: str | None
    request_id: int | None  # proxy mode: what this request's violations refer to
    path_cut: bool
    query_cut: bool
    tenant: str | None = None
    labelled: bool = False


# The status filter for an exchange without a response: the journal shows its status as 0.
NO_RESPONSE = "0"
FILTERS = ("api", "method", "path", "operation", "status", "tenant", "since", "limit")


@dataclass(frozen=True)
class Query:
    """A journal query, as `GET /__mock__/requests` takes it. `path` ending in `*` is a prefix;
    `status` is a code (`404`), a class (`4xx`) or `0`, what the journal shows for an exchange
    closed before any response (a transport fault, a client gone); `since` an entry id (newer entries only);
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
                raise ValueError(f"unknown parameter {shorten(name, 40)!r}; known: {', '.join(FILTERS)}")
            values[name] = value
        status = values.get("status")
        if status is not None and not (
            status == NO_RESPONSE
            or (len(status) == 3 and status[0] in "12345" and ascii_int(status) is not None)
            or (len(status) == 3 and status[0] in "12345" and status[1:].lower() == "xx")
        ):
            raise ValueError(
                f"status must be a code (404), a class (4xx) or {NO_RESPONSE} (no response: the connection "
                f"was closed first), not {shorten(status, 20)!r}"
            )
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
            if not (code == self.status if self.status[1:2] != "x" else code[0] == self.status[0]):
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
        self._remembered: OrderedDict[str, None] = OrderedDict()
        self._redactor: tuple[tuple[str, ...], Redactor] | None = None

    def clear(self) -> None:
        self.entries.clear()

    def next_id(self) -> int:
        return next(self._ids)

    def remember_secret(self, token: str) -> None:
        """A credential seen in traffic (the proxy's clients' keys): from now on redacted by
        value, in every written form, wherever it appears in any entry, older ones included.
        The last `REMEMBERED_SECRETS` are kept, each by its first `SECRET_CHARS` characters."""
        if not token:
            return
        token = token[:SECRET_CHARS]
        remembered = self._remembered
        if token in remembered:
            remembered.move_to_end(token)
            return
        remembered[token] = None
        if len(remembered) > REMEMBERED_SECRETS:
            remembered.popitem(last=False)
        self._redactor = None

    def redactor(self) -> Redactor:
        """What every read redacts by value: the mock's own keys and the remembered credentials."""
        own = tuple(self._secrets())
        if self._redactor is None or self._redactor[0] != own:
            self._redactor = (own, Redactor([*own, *self._remembered]))
        return self._redactor[1]

    def record(
        self,
        scope: Scope,
        started: float,
        status: int,
        request_body: bytes | bytearray,
        request_bytes: int,
        response_headers: RawHeaders,
        response_body: bytes | bytearray,
        response_bytes: int,
        header_bytes: int | None = None,
    ) -> None:
        """One exchange, as `app.Front` captured it (bodies through `keep`; `started` its
        perf_counter at the start; `header_bytes` the request headers' size, if counted):
        every field capped here, the headers kept as they came while they fit."""
        info = get_info(scope)
        raw: RawHeaders = scope["headers"]
        request_headers = _capped_headers(raw, HEADERS_CAP, header_bytes)
        path: str = scope["path"]
        query: bytes = scope["query_string"]
        path_cut = len(path) > URL_CAP or not path.isascii()
        if path_cut:
            path, path_cut = _cut_path(path)
        entry = Entry(
            next(self._ids),
            time.time(),
            scope["method"][:URL_CAP],
            path,
            query[:URL_CAP],
            status,
            time.perf_counter() - started,
            info.api if info else None,
            info.operation if info else None,
            request_headers,
            request_body,
            request_bytes,
            _capped_headers(response_headers, RESPONSE_HEADERS_CAP),
            response_body,
            response_bytes,
            info.fault if info else None,
            info.request_id if info else None,
            path_cut,
            len(query) > URL_CAP,
        )
        if type(request_headers) is bytes:
            # The raw headers were too big to keep: label the tenant now, while we have them.
            self.label_now(entry, _plain_headers(raw))
        self.entries.append(entry)

    def label_now(self, entry: Entry, headers: Mapping[str, str]) -> None:
        entry.labelled = True
        if self._labeler is not None:
            entry.tenant = self._labeler(entry.api, headers)

    def _label(self, entry: Entry) -> str | None:
        if not entry.labelled:
            entry.labelled = True
            headers = entry.request_headers
            if self._labeler is not None and not isinstance(headers, bytes):
                entry.tenant = self._labeler(entry.api, _plain_headers(headers))
        return entry.tenant

    def select(self, query: Query | None = None) -> list[Entry]:
        query = query or Query()
        chosen = [e for e in list(self.entries) if query.matches(e, self._label)]
        if query.limit is not None:
            chosen = chosen[-query.limit :] if query.limit else []
        return chosen

    def read(self, query: Query | None = None) -> list[dict[str, Any]]:
        """Entries as the control plane, the dashboard and `convo_mock.calls` show them."""
        redactor = self.redactor()
        return [self.shape(entry, redactor) for entry in self.select(query)]

    def shape(self, entry: Entry, redactor: Redactor) -> dict[str, Any]:
        return {
            "id": entry.id,
            "time": entry.time,
            "method": entry.method,
            "path": _path(entry, redactor),
            "query": _query(entry, redactor),
            "status": entry.status,
            "duration_ms": round(entry.duration * 1000, 3),
            "api": entry.api,
            "operationId": entry.operation,
            "tenant": self._label(entry),
            "headers": _header_dict(entry.request_headers, redactor),
            "body": _body(entry.request_body, entry.request_bytes, redactor),
            "bodyBytes": entry.request_bytes,
            "fault": entry.fault,
            "requestId": entry.request_id,
            "response": {
                "status": entry.status,
                "headers": _header_dict(entry.response_headers, redactor),
                "body": _body(entry.response_body, entry.response_bytes, redactor),
                "bodyBytes": entry.response_bytes,
            },
        }


__all__ = [
    "BODY_CAP",
    "HEADERS_CAP",
    "REDACTED",
    "REMEMBERED_SECRETS",
    "RESPONSE_HEADERS_CAP",
    "URL_CAP",
    "Entry",
    "Journal",
    "Query",
    "keep",
]
