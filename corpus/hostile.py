"""Hostile servers: what a server we do not control can send to the person running our tools.

`broken.py` proves the suite finds faults; these prove that a server cannot hurt whoever
points the suite or the proxy at it: echo the caller's key back (in bodies, headers, error
messages, as a new conversation's id), answer with text meant for a terminal (ANSI and OSC
sequences, bare CRs, bidirectional and zero-width characters) or for a report (Markdown,
HTML, characters XML 1.0 forbids, unpaired surrogates), or bend HTTP itself (statuses
outside 100-599, transfer codings other than chunked, huge, endless and dripping bodies).

Each entry is the real mock, rewritten by one hostile habit, served by `WireServer`: a raw
HTTP/1.1 server that hands each request to the (wrapped) mock and writes the answer itself,
so that an entry can also bend what goes on the wire where uvicorn would refuse to. What is
bent, and where, is chosen so that the suite still runs (its preflight lists conversations)
and meets the hostile answers in its checks: reading one conversation, creating one,
deleting what it created, and error answers.

The servers never know a key: they echo whatever credential the request carried.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import httptools
from starlette.types import Message, Scope, Send

from mockserver import MockConfig, create_app
from mockserver.api.auth import ApiKey
from mockserver.api.store import Store
from specs import API_NAMES
from specs.auth import scheme_of

from .broken import ALICE, BOB, READONLY, Exchange, FaultyApp

# Every piece of hostile text carries this, so a test can tell the server's text from ours
# wherever it ends up (a heading, a link, an attribute, a table header).
CANARY = "HOSTILE-CANARY"

# Text a terminal acts on: the window title (OSC 0), clear screen and cursor home, concealed
# text, an OSC 8 hyperlink, a C1 CSI (one character), backspaces, DEL, NUL.
TERMINAL = (
    f"\x1b]0;{CANARY} window title\x07"
    "\x1b[2J\x1b[H"
    f"\x1b[8m{CANARY} hidden text\x1b[0m"
    f"\x1b]8;;http://evil.example\x1b\\{CANARY} link\x1b]8;;\x1b\\"
    "\x9b31mred\x08\x08\x7f\x00"
)
# A bare CR returns to the start of the line: what follows overwrites (or forges) our output;
# in Markdown it is a line ending, so a code span ends and a heading can start.
BARE_CR = f"`\rconforming: 999 passed, 0 failed {CANARY}\r# {CANARY} heading\r![{CANARY}](http:evil.example)\r"
# Right-to-left overrides and isolates, zero-width characters, a BOM, line/paragraph separators.
BIDI = f"\u202e{CANARY} txet\u202c \u2066{CANARY}\u2069 zero\u200bwidth\u200d\ufeffjoin line\u2028next\u2029"
# What a Markdown renderer (a GitHub step summary) or a browser would turn into elements.
MARKDOWN = (
    f"\n# {CANARY} heading\n"
    f"![{CANARY}](http://evil.example/pixel.png) [{CANARY}](http://evil.example/) "
    f"<img src=x onerror=alert('{CANARY}')> <!-- {CANARY} --> <details open><summary>{CANARY}</summary> "
    f"</details></summary>\n\n| {CANARY} | table |\n|---|---|\n| a | b |\n\n"
    f"`` ` `` ```` {CANARY} ```` **{CANARY}** <http://evil.example/{CANARY}> "
    f"</script><script>alert('{CANARY}')</script>]]><![CDATA[{CANARY}\n~~~\n{CANARY} fence\n"
)
# Characters XML 1.0 does not allow at all (a JUnit file holding them does not parse).
XML_ILLEGAL = f"\x00\x01\x08\x0b\x0c\x1b\x1f{CANARY}\ufffe\uffff"
# An unpaired surrogate: valid as a JSON escape, not encodable as UTF-8.
LONE_SURROGATE = f"\ud800{CANARY}\udfff"

HUGE_BYTES = 1 << 30  # what `huge_body` announces and sends: 1 GiB, generated, never stored
DRIP_SECONDS = 0.2  # `slow_drip`: one byte this often


# --- which requests meet the hostility ----------------------------------------------------


def credential(headers: dict[str, str]) -> str:
    """The key a request carried, by either API's scheme ('' when none)."""
    tokens = (scheme_of(api).credential(headers).token for api in API_NAMES)
    return next((t for t in tokens if t), "")


def _is_item_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == "v1" and parts[2] in ("conversations", "conversation") and bool(parts[3])


def _conversations(value: Any) -> list[dict[str, Any]]:
    """The conversations an answer carries (one, or a list's items)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if not isinstance(value, dict):
        return []
    if "id" in value:
        return [value]
    return [item for v in value.values() if isinstance(v, list) for item in v if isinstance(item, dict)]


def _first(item: dict[str, Any], name: str, text: str) -> None:
    """`item[name] = text`, as the first field: the start of the evidence a report quotes."""
    rest = {k: v for k, v in item.items() if k != name}
    item.clear()
    item.update({name: text, **rest})


def _break(item: dict[str, Any]) -> None:
    """Drop a required field, so the answer breaks the spec and its text becomes evidence."""
    item.pop("updatedAt", None)
    item.pop("_link", None)


def taint(text: str) -> Callable[[Exchange, Store], None]:
    """Every conversation answered carries `text` first (its title or message) and breaks the
    spec; every error answer is `text` as text/plain."""

    def after(e: Exchange, store: Store) -> None:
        if e.status >= 400:
            e.answer(e.status, text.encode("utf-8", "surrogatepass"), "text/plain; charset=utf-8")
            return
        for item in _conversations(e.response):
            _first(item, "title" if e.runtype else "message", text)
            _break(item)

    return after


def tainted_ids(text: str) -> tuple[Callable[[Exchange, Store], None], Callable[[Exchange, Store], None]]:
    """(before, after): a created conversation's id is `text`; deleting it fails with a 500
    naming it, so that it is left behind and listed as such."""

    def before(e: Exchange, store: Store) -> None:
        if e.runtype and e.method == "DELETE" and e.path.rsplit("/", 1)[-1] == text:
            e.answer(500, {"error": "internal", "message": f"cannot delete {text}"})

    def after(e: Exchange, store: Store) -> None:
        if e.runtype and e.method == "POST" and e.status == 201 and isinstance(e.response, dict):
            e.response["id"] = text

    return before, after


# --- the credential echoes ----------------------------------------------------------------


def _json_escaped(text: str) -> str:
    """Every character as a JSON \\u escape: a key only a JSON parser sees."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def key_in_bodies(e: Exchange, store: Store) -> None:
    token = credential(e.headers)
    if not token or e.status >= 400:
        return
    for item in _conversations(e.response):
        _first(item, "title" if e.runtype else "message", f"owned by {token}")
        item["messageCount"] = token  # an integer in the spec: the key becomes the evidence
        item["metadata"] = {"echo": f"Bearer {token}", "link": f"/v1/conversations/{quote(token, safe='')}"}


def key_json_escaped(e: Exchange, store: Store) -> None:
    token = credential(e.headers)
    if not token or e.status >= 400 or not isinstance(e.response, dict):
        return
    for item in _conversations(e.response):
        _break(item)  # the answer breaks the spec: its text becomes the evidence
    text = json.dumps(e.response)
    # The key as only a JSON parser reads it: every character a \u escape.
    e.response = f'{{"echo": "{_json_escaped(token)}", {text[1:]}'.encode()


def key_in_headers(e: Exchange, store: Store) -> None:
    token = credential(e.headers)
    if not token:
        return
    headers = dict(e.response_headers or {})
    headers["x-request-echo"] = token
    headers["location"] = f"/v1/conversations/{quote(token, safe='')}"
    headers["www-authenticate"] = f'Bearer error="invalid_token", error_description="{token}"'
    headers["set-cookie"] = f"sid={token}; Path=/"
    e.response_headers = headers
    if e.status < 400 and e.method == "GET" and _is_item_path(e.path):
        # A media type the spec does not allow: the content type becomes the evidence.
        _retype(e, f"application/x-echo-{token}+json")


def key_in_errors(e: Exchange, store: Store) -> None:
    if e.status < 400:
        return
    sent = e.headers.get("authorization") or e.headers.get("api-key") or "(none)"
    status = 422 if e.status == 400 else e.status
    e.answer(status, {"error": "rejected", "message": f"request with {sent} (key {credential(e.headers)}) refused"})


def _key_as_id(e: Exchange, store: Store) -> None:
    token = credential(e.headers)
    if token and e.runtype and e.method == "POST" and e.status == 201 and isinstance(e.response, dict):
        e.response["id"] = token


def _key_id_undeletable(e: Exchange, store: Store) -> None:
    token = credential(e.headers)
    if token and e.runtype and e.method == "DELETE" and e.path.rsplit("/", 1)[-1] == token:
        e.answer(500, {"error": "internal", "message": f"conversation {token} is locked"})


def terminal_headers(e: Exchange, store: Store) -> None:
    """Escape sequences in a header of every answer, and as a conversation's content type."""
    headers = dict(e.response_headers or {})
    headers["x-hostile"] = TERMINAL.replace("\x00", "")
    e.response_headers = headers
    if e.status < 400 and e.method == "GET" and _is_item_path(e.path):
        _retype(e, f"text/html\x1b]0;{CANARY}\x07\x1b[2J")


def _retype(e: Exchange, content_type: str) -> None:
    """The same JSON answer under another content type."""
    e.response = json.dumps(e.response).encode()
    e.response_headers = {**(e.response_headers or {}), "content-type": content_type}


# --- bending HTTP itself ------------------------------------------------------------------


@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str  # percent-decoded
    headers: dict[str, str]  # lower-case names


@dataclass(frozen=True)
class Answer:
    """What the (wrapped) mock answered: a hook may write it otherwise."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


# A wire hook: the bytes to write instead of the answer (the connection closes after them),
# or None to write the answer as HTTP/1.1 normally does.
Wire = Callable[[WireRequest, Answer], AsyncIterator[bytes] | None]


def _bent(request: WireRequest) -> bool:
    """Reading one conversation: the suite does it in its checks, never in its preflight."""
    return request.method == "GET" and _is_item_path(request.path)


def _head(status: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"


def _without(headers: list[tuple[bytes, bytes]], *names: bytes) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() not in names]


def _chunked(data: bytes, size: int = 4096) -> bytes:
    parts = [b"%x\r\n%b\r\n" % (len(data[i : i + size]), data[i : i + size]) for i in range(0, len(data), size)]
    return b"".join(parts) + b"0\r\n\r\n"


async def _once(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def status_line(status: bytes) -> Wire:
    """The answer as it is, under a status line no HTTP status has."""

    def wire(request: WireRequest, answer: Answer) -> AsyncIterator[bytes] | None:
        if not _bent(request):
            return None
        headers = [*_without(answer.headers, b"content-length"), (b"content-length", b"%d" % len(answer.body))]
        return _once(_head(status, headers), answer.body)

    return wire


def transfer_coding(coding: bytes, encode: Callable[[bytes], bytes]) -> Wire:
    """The body encoded by `coding`, then chunked (`Transfer-Encoding: <coding>, chunked`),
    with no Content-Encoding: only a client that decodes transfer codings reads it right."""

    def wire(request: WireRequest, answer: Answer) -> AsyncIterator[bytes] | None:
        if not _bent(request):
            return None
        headers = [*_without(answer.headers, b"content-length"), (b"transfer-encoding", coding + b", chunked")]
        return _once(_head(b"200 OK", headers), _chunked(encode(answer.body)))

    return wire


_FILLER = b'{"id": "' + b"x" * (1024 * 1024 - 8)  # 1 MiB, built once and sent again and again


def _json_head(*extra: tuple[bytes, bytes]) -> bytes:
    return _head(b"200 OK", [(b"content-type", b"application/json"), *extra])


async def _huge() -> AsyncIterator[bytes]:
    yield _json_head((b"content-length", b"%d" % HUGE_BYTES))
    for _ in range(HUGE_BYTES // len(_FILLER)):
        yield _FILLER


async def _endless() -> AsyncIterator[bytes]:
    yield _json_head((b"transfer-encoding", b"chunked"))
    chunk = b"%x\r\n%b\r\n" % (len(_FILLER), _FILLER)
    while True:
        yield chunk


async def _drip() -> AsyncIterator[bytes]:
    yield _json_head((b"content-length", b"1000000"))
    while True:
        yield b" "
        await asyncio.sleep(DRIP_SECONDS)


def _stream(make: Callable[[], AsyncIterator[bytes]]) -> Wire:
    def wire(request: WireRequest, answer: Answer) -> AsyncIterator[bytes] | None:
        return make() if _bent(request) else None

    return wire


def _reversed(data: bytes) -> bytes:
    return data[::-1]


# --- the corpus ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    name: str
    description: str
    harm: str  # "key", "terminal", "report", "protocol" or "memory"
    before: Callable[[Exchange, Store], None] | None = None
    after: Callable[[Exchange, Store], None] | None = None
    wire: Wire | None = None
    # The suite's families that meet this server's answers (the others would only cost time).
    families: tuple[str, ...] = ("boundaries", "auth", "semantics")

    def app(self, keys: Sequence[str] = (ALICE, BOB, READONLY)) -> HostileApp:
        """The real mock, with `keys` (the last one read-only), rewritten by this entry."""
        return HostileApp(self, keys)

    def server(self, keys: Sequence[str] = (ALICE, BOB, READONLY)) -> WireServer:
        return WireServer(self.app(keys), self.wire)


def _ids(text: str) -> dict[str, Any]:
    before, after = tainted_ids(text)
    return {"before": before, "after": after}


def _both(*hooks: Callable[[Exchange, Store], None]) -> Callable[[Exchange, Store], None]:
    def run(e: Exchange, store: Store) -> None:
        for hook in hooks:
            hook(e, store)

    return run


def _slash_free(text: str) -> str:
    return text.replace("/", "\u2215")  # an id must stay one path segment


HOSTILE: list[Hostile] = [
    Hostile(
        "key_in_bodies",
        "every conversation answered carries the caller's key: in its title, as its messageCount "
        "(so it is the evidence of a broken spec) and percent-encoded in a link",
        "key",
        after=key_in_bodies,
    ),
    Hostile(
        "key_json_escaped",
        "every answer carries the caller's key written with JSON \\u escapes only (one per character), "
        "and breaks the spec so that the answer is the evidence",
        "key",
        after=key_json_escaped,
        families=("schemathesis", "semantics"),
    ),
    Hostile(
        "key_in_headers",
        "every answer echoes the caller's key in headers (X-Request-Echo, Location, WWW-Authenticate, "
        "Set-Cookie) and reading a conversation answers a media type built from it",
        "key",
        after=key_in_headers,
    ),
    Hostile(
        "key_in_errors",
        "every error answer (400 turned into 422) names the Authorization header it got and the key",
        "key",
        after=key_in_errors,
    ),
    Hostile(
        "key_as_id",
        "a new conversation's id is the caller's key, and deleting it answers a 500 naming it: "
        "the run leaves it behind and lists it",
        "key",
        before=_key_id_undeletable,
        after=_key_as_id,
    ),
    Hostile(
        "terminal_escapes_in_bodies",
        "conversations' titles and error bodies (text/plain, raw bytes) hold ANSI and OSC sequences: "
        "window title, clear screen, concealed text, a hyperlink, C1 controls, NUL",
        "terminal",
        after=taint(TERMINAL),
        families=("schemathesis", "semantics"),
    ),
    Hostile(
        "terminal_escapes_in_ids",
        "new conversations' ids are escape sequences; deleting them fails, so they are left behind",
        "terminal",
        **_ids(_slash_free(TERMINAL)),
    ),
    Hostile(
        "terminal_escapes_in_headers",
        "answers carry escape sequences in header values, the content type of a conversation included",
        "terminal",
        after=terminal_headers,
    ),
    Hostile(
        "bare_carriage_returns",
        "titles, error bodies and new ids hold bare CRs that would overwrite our lines or forge a verdict",
        "terminal",
        before=tainted_ids(_slash_free(BARE_CR))[0],
        after=_both(taint(BARE_CR), tainted_ids(_slash_free(BARE_CR))[1]),
    ),
    Hostile(
        "bidi_and_zero_width",
        "titles, error bodies and new ids hold right-to-left overrides, isolates, zero-width "
        "characters, a BOM and line separators: text that reads otherwise than it is",
        "terminal",
        before=tainted_ids(BIDI)[0],
        after=_both(taint(BIDI), tainted_ids(BIDI)[1]),
    ),
    Hostile(
        "markdown_and_html",
        "titles, error bodies and new ids are Markdown and HTML: headings, images, links, raw HTML, "
        "a table, backtick runs, a fence, a closing </script>",
        "report",
        before=tainted_ids(_slash_free(MARKDOWN))[0],
        after=_both(taint(MARKDOWN), tainted_ids(_slash_free(MARKDOWN))[1]),
    ),
    Hostile(
        "xml_illegal_characters",
        "titles and error bodies hold characters XML 1.0 forbids (NUL, C0 controls, U+FFFE, U+FFFF)",
        "report",
        after=taint(XML_ILLEGAL),
    ),
    Hostile(
        "lone_surrogates",
        "titles hold unpaired surrogates (valid JSON escapes that no UTF-8 file can hold)",
        "report",
        after=taint(LONE_SURROGATE),
    ),
    Hostile(
        "status_999",
        "reading a conversation answers status 999",
        "protocol",
        wire=status_line(b"999 Hostile"),
        families=("semantics",),
    ),
    Hostile(
        "status_600",
        "reading a conversation answers status 600",
        "protocol",
        wire=status_line(b"600 Hostile"),
        families=("semantics",),
    ),
    Hostile(
        "status_099",
        "reading a conversation answers status 099 (below the interim range's floor, no final answer follows)",
        "protocol",
        wire=status_line(b"099 Hostile"),
        families=("semantics",),
    ),
    Hostile(
        "gzip_then_chunked",
        "reading a conversation answers `Transfer-Encoding: gzip, chunked`, without Content-Encoding",
        "protocol",
        wire=transfer_coding(b"gzip", gzip.compress),
        families=("semantics",),
    ),
    Hostile(
        "unknown_transfer_coding",
        "reading a conversation answers `Transfer-Encoding: x-hostile, chunked` (a coding nobody knows)",
        "protocol",
        wire=transfer_coding(b"x-hostile", _reversed),
        families=("semantics",),
    ),
    Hostile(
        "huge_body",
        f"reading a conversation answers {HUGE_BYTES} bytes (generated as they are sent)",
        "memory",
        wire=_stream(_huge),
        families=("semantics",),
    ),
    Hostile(
        "endless_body",
        "reading a conversation answers a chunked body that never ends",
        "memory",
        wire=_stream(_endless),
        families=("semantics",),
    ),
    Hostile(
        "slow_drip",
        f"reading a conversation answers one byte every {DRIP_SECONDS:g} s of a million announced",
        "memory",
        wire=_stream(_drip),
        families=("semantics",),
    ),
]
BY_NAME = {h.name: h for h in HOSTILE}


# --- serving ------------------------------------------------------------------------------


class HostileApp(FaultyApp):
    """`FaultyApp` with the keys it is given, and answers that may be any bytes."""

    def __init__(self, hostile: Hostile, keys: Sequence[str]) -> None:
        # Not FaultyApp's own set-up: that one builds a mock with the demo keys.
        self.fault = hostile
        readonly = len(keys) - 1
        config = MockConfig(keys=tuple(ApiKey(k, readonly=i == readonly and i > 0) for i, k in enumerate(keys)))
        self.mock = create_app(config)
        self.store = self.mock.state.runtime.store
        self.errors = []

    async def _send(self, exchange: Exchange, send: Send) -> None:
        if not isinstance(exchange.response, bytes):
            await super()._send(exchange, send)
            return
        headers = {**(exchange.response_headers or {}), "content-length": str(len(exchange.response))}
        raw = [(k.encode(), v.encode("utf-8", "surrogatepass")) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": exchange.status, "headers": raw})
        await send({"type": "http.response.body", "body": exchange.response})


@dataclass
class Delivery:
    """One bent answer as the server wrote it: how much went out and how it ended."""

    path: str
    sent: int = 0
    ended: threading.Event = field(default_factory=threading.Event)
    peer_closed: bool = False  # the other side closed the connection before the answer ended


class _Parsed:
    """httptools' callbacks: the requests a connection carried, in order."""

    def __init__(self) -> None:
        self.done: list[tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes]] = []
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body = bytearray()
        self.parser = httptools.HttpRequestParser(self)

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", [], bytearray()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        self.done.append((self.parser.get_method(), self._url, self._headers, bytes(self._body)))


class WireServer:
    """A raw HTTP/1.1 server on 127.0.0.1, in a thread with its own event loop: each request
    goes to `app` (ASGI), and its answer is written by `wire` when that bends it, else as
    HTTP/1.1 with a Content-Length (kept alive)."""

    def __init__(self, app: HostileApp, wire: Wire | None = None) -> None:
        self.app = app
        self.wire = wire
        self.deliveries: list[Delivery] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"wire-server-{self.port}")
        self._started = threading.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> WireServer:
        self._thread.start()
        if not self._started.wait(15):
            raise RuntimeError("the wire server did not start")
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._shutdown)
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> WireServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._connection, sock=self._sock)
            self._started.set()
            await self._server.serve_forever()

        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(serve())
        self._loop.close()

    def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        parsed = _Parsed()
        sock = writer.get_extra_info("socket")
        if sock is not None:  # answers go out as they are written, not after a delayed ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                while not parsed.done:
                    data = await reader.read(65536)
                    if not data:
                        return
                    parsed.parser.feed_data(data)
                method, url, headers, body = parsed.done.pop(0)
                if not await self._exchange(reader, writer, method.decode(), url, headers, body):
                    return
        except (ConnectionError, httptools.HttpParserError, asyncio.CancelledError):
            return  # cancelled: the server is stopping
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        url: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> bool:
        """Answer one request; whether the connection stays open."""
        raw_path, _, query = url.partition(b"?")
        path = unquote(raw_path.decode("latin-1"))
        answer = await _call(self.app, method, path, raw_path, query, headers, body, self.port)
        named = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
        bent = self.wire(WireRequest(method, path, named), answer) if self.wire else None
        if bent is None:
            framed = [*_without(answer.headers, b"content-length"), (b"content-length", b"%d" % len(answer.body))]
            head = _head(b"%d %b" % (answer.status, _REASONS.get(answer.status, b"Whatever")), framed)
            writer.write(head + (answer.body if method != "HEAD" else b""))  # one write: no delayed ACK
            await writer.drain()
            return named.get("connection", "").lower() != "close"
        delivery = Delivery(path)
        self.deliveries.append(delivery)
        try:
            await _deliver(bent, reader, writer, delivery)
        finally:
            delivery.ended.set()
        return False


async def _deliver(
    chunks: AsyncIterator[bytes], reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delivery: Delivery
) -> None:
    """Write `chunks` until they end or the other side closes (seen as the end of its stream,
    or as a failed write), whichever comes first."""
    closed = asyncio.ensure_future(reader.read(1))  # b"" once the peer has closed
    try:
        async for chunk in chunks:
            if closed.done():
                delivery.peer_closed = True
                return
            writer.write(chunk)
            try:
                await writer.drain()
            except ConnectionError:
                delivery.peer_closed = True
                return
            delivery.sent += len(chunk)
    finally:
        closed.cancel()


_REASONS = {200: b"OK", 201: b"Created", 204: b"No Content", 400: b"Bad Request", 401: b"Unauthorized"}


async def _call(
    app: HostileApp,
    method: str,
    path: str,
    raw_path: bytes,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    port: int,
) -> Answer:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", port),
        "state": {},
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    out_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status, out_headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answer(status, out_headers, b"".join(chunks))


__all__ = ["BY_NAME", "CANARY", "HOSTILE", "Answer", "Delivery", "Hostile", "HostileApp", "WireServer"]
