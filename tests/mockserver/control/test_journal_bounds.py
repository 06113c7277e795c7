"""The journal's memory bound, measured: a full journal of hostile exchanges (every field at
the most a client or an upstream can send) stays within what docs/mock.md states, and an answer
streamed through the journal of any size costs it its capped prefix only.

Measured in-process with tracemalloc (exact, and blind to the machine's load): what the
journal's entries hold, the exchanges driven through the mock's `Front` (guard, CORS and the
journal's capture) as uvicorn would.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from mockserver.app import Front
from mockserver.config import DEFAULT_CORS, MockConfig
from mockserver.control.journal import (
    BODY_CAP,
    HEADER_COST,
    HEADERS_CAP,
    RESPONSE_HEADERS_CAP,
    URL_CAP,
    Journal,
)
from mockserver.cors import Cors
from mockserver.guard import Guard
from mockserver.protocol import bounded_protocol
from specs.redact import REDACTED

# docs/mock.md: "at most 12 MiB for a full journal of hostile requests and answers".
FULL_JOURNAL_BOUND = 12 * 1024 * 1024
ENTRIES = MockConfig.journal_size
# What reaches the journal: the protocol refuses a longer request head (path and query
# included), the guard more headers or more header bytes.
HEAD_LIMIT = bounded_protocol(MockConfig.max_header_bytes).max_head_bytes
HOST = (b"host", b"127.0.0.1:8000")
# The client's Host is one of them.
HEADER_BYTES, HEADER_COUNT = MockConfig.max_header_bytes - sum(map(len, HOST)), MockConfig.max_headers - 1
CHUNK = b"x" * 65536


def _headers(count: int, total: int) -> list[tuple[bytes, bytes]]:
    """`count` headers of `total` bytes of text, each request's own (`_exchange` adds 5 bytes)."""
    size = total // count - 8 - 5
    return [(b"x-h%05d" % i, bytes([97 + i % 26]) * size) for i in range(count)]


def _at_cap(count: int, cap: int) -> list[tuple[bytes, bytes]]:
    """The most header text the journal still keeps as it came, in `count` headers."""
    return _headers(count, cap - count * HEADER_COST)


def _shapes() -> dict[str, dict[str, Any]]:
    """Each hostile in another way; every one at the limits the server lets through."""
    long_path = "/v1/conversations/" + "p" * (HEAD_LIMIT // 2)
    long_query = b"a=1&" + b"q" * (HEAD_LIMIT // 2)
    return {
        # Just under the point where the journal stops keeping headers as they came.
        "headers kept as they came": {
            "request_headers": _at_cap(16, HEADERS_CAP - sum(map(len, HOST)) - HEADER_COST),
            "response_headers": _at_cap(8, RESPONSE_HEADERS_CAP),
            "body": [b"y" * BODY_CAP],
            "answer": [b"z" * BODY_CAP],
        },
        "headers at the guard's limits": {
            "request_headers": _headers(HEADER_COUNT, HEADER_BYTES),
            "response_headers": _headers(HEADER_COUNT, HEADER_BYTES),
            "body": [CHUNK] * 16,
            "answer": [CHUNK] * 128,
        },
        "streams of small chunks": {
            "request_headers": _headers(2, 200),
            "response_headers": _headers(2, 200),
            "body": [b"b" * 64] * 70,
            "answer": [b"a" * 64] * 70,
        },
        "two big headers": {
            "request_headers": _headers(2, HEADER_BYTES),
            "response_headers": _headers(2, HEADER_BYTES),
            "body": [CHUNK],
            "answer": [CHUNK],
            "path": long_path,
            "query": long_query,
        },
    } | {
        "the longest path and query": {
            "request_headers": _at_cap(16, HEADERS_CAP - sum(map(len, HOST)) - HEADER_COST),
            "response_headers": _at_cap(8, RESPONSE_HEADERS_CAP),
            "body": [b"y" * BODY_CAP],
            "answer": [b"z" * BODY_CAP],
            "path": long_path,
            "query": long_query,
        }
    }


def _fresh(chunk: bytes) -> bytes:
    """A chunk as a server reads it, an object of its own: one the journal may keep whole."""
    return bytes(memoryview(chunk)) if len(chunk) <= BODY_CAP else chunk


def _upstream(answer: list[bytes], headers: list[tuple[bytes, bytes]]) -> Callable[..., Any]:
    """What answers behind the journal: reads the whole request, then streams `answer`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        # Fresh objects per answer, as the upstream client parses them.
        mark = scope["query_string"][-5:]
        await send({"type": "http.response.start", "status": 200, "headers": [(n, v + mark) for n, v in headers]})
        for chunk in answer:
            await send({"type": "http.response.body", "body": _fresh(chunk), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def _front(app: Any, journal: Journal) -> Front:
    return Front(app, Guard(MockConfig()), Cors([], allow_origin_regex=DEFAULT_CORS), journal)


async def _exchange(middleware: Front, shape: dict[str, Any], index: int) -> None:
    chunks = iter(shape["body"])
    # Distinct objects per request, as uvicorn would parse them: nothing shared between entries.
    path = shape.get("path", "/v1/conversations/conv_demo1_1")
    scope = {
        "type": "http",
        "method": "PUT",
        "path": f"{path}{index:05d}",
        "query_string": shape.get("query", b"") + b"%05d" % index,
        "headers": [HOST, *((name, value + b"%05d" % index) for name, value in shape["request_headers"])],
    }

    async def receive() -> Message:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": _fresh(chunk), "more_body": True}

    async def send(message: Message) -> None:
        pass

    await middleware(scope, receive, send)


def _journal_bytes(shape: dict[str, Any], count: int) -> tuple[int, Journal]:
    """Bytes the journal holds after `count` exchanges of `shape` (one full round first, so
    that what a first request builds once is not counted)."""
    journal = Journal(ENTRIES)
    middleware = _front(_upstream(shape["answer"], shape["response_headers"]), journal)

    async def fill(start: int) -> None:
        for index in range(start, start + count):
            await _exchange(middleware, shape, index)

    asyncio.run(fill(0))
    journal.clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        asyncio.run(fill(count))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, journal


@pytest.mark.parametrize("name", list(_shapes()))
def test_a_full_journal_of_hostile_exchanges_stays_within_the_documented_bound(name: str) -> None:
    shape = _shapes()[name]
    held, journal = _journal_bytes(shape, ENTRIES)
    print(f"{name}: a full journal ({ENTRIES} entries) holds {held / 2**20:.2f} MiB")
    assert len(journal.entries) == ENTRIES
    assert held <= FULL_JOURNAL_BOUND
    # Cut, and marked as cut: nothing of a field past its cap is shown.
    [entry] = journal.read()[-1:]
    assert len(entry["path"]) <= URL_CAP + 1 and len(entry["query"]) <= URL_CAP + 1  # + "…"
    sent = sum(map(len, shape["answer"]))
    assert entry["response"]["bodyBytes"] == sent
    if sent > BODY_CAP:
        assert entry["response"]["body"].endswith(f"[cut by the journal: {BODY_CAP} of {sent} bytes kept]")


def test_an_answer_streamed_through_the_journal_costs_only_its_prefix() -> None:
    """A 256 MiB answer in 64 KiB chunks: the journal's peak stays under 1 MiB (it used to keep
    every chunk and join them at the end: the whole answer, twice)."""
    shape = {"request_headers": [], "response_headers": [], "body": [], "answer": [CHUNK] * 4096}
    journal = Journal(ENTRIES)
    middleware = _front(_upstream(shape["answer"], []), journal)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        asyncio.run(_exchange(middleware, shape, 0))
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    [entry] = journal.read()
    assert entry["response"]["bodyBytes"] == 4096 * len(CHUNK)
    assert len(entry["response"]["body"]) < BODY_CAP + 100
    assert peak < 1024 * 1024, f"peak {peak / 2**20:.1f} MiB while streaming"


def test_a_key_cut_in_half_by_a_cap_is_not_shown_half() -> None:
    """Redact first, then cut: a key that straddles a cap loses its visible start too."""
    key = "sk-live-0123456789abcdef"
    journal = Journal(ENTRIES, secrets=lambda: [key])
    body = b"n" * (BODY_CAP - 10) + key.encode() + b"tail"
    path = "/v1/conversations/" + "p" * (URL_CAP - 30) + key + "/rest"
    # One header past the cap: its value is cut 13 characters into the key.
    shape: dict[str, Any] = {
        "request_headers": [(b"x-big", b"v" * 8170 + key.encode())],
        "response_headers": [],
        "body": [body],
        "answer": [body],
        "path": path,
        "query": b"a=1&b=" + b"q" * (URL_CAP - 20) + key.encode(),
    }
    asyncio.run(_exchange(_front(_upstream(shape["answer"], []), journal), shape, 0))
    [entry] = journal.read()
    shown = repr(entry)
    assert key[:6] not in shown, shown
    assert entry["body"].startswith("n" * 100) and entry["query"].startswith("a=1")
    assert entry["path"].startswith("/v1/conversations/ppp")
    assert entry["headers"]["x-big"].startswith("vvv") and entry["headers"]["x-big"].endswith("v…")
    assert REDACTED not in entry["path"]  # a start cut off, not a key replaced
