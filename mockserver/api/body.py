"""Reading a request body safely: size cap, media type, JSON, nesting depth.

Each way a body can be wrong gets its own clear 4xx before anything reaches validation.
Large bodies are parsed, depth-checked and validated by one worker thread, one at a time,
with the cyclic garbage collector paused: orjson holds the GIL for a whole parse, so two
parses at once (or a full collection over the 100k containers a megabyte can hold, which
tripled the parse time) would keep the event loop from every other client for that long.
A body that is refused is also freed in the worker. The depth check works on the text at C
speed rather than walking a parsed megabyte node by node.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from specs.integers import ascii_int
from specs.text import shorten

from .errors import ApiError


async def read_capped(request: Request, max_bytes: int, what: str) -> bytes:
    """The raw body of a Starlette request; 413 past `max_bytes` (see `read_body`)."""
    return await read_body(request.receive, request.headers.get("content-length"), max_bytes, what)


async def read_body(receive: Receive, declared: str | bytes | None, max_bytes: int, what: str) -> bytes:
    """The raw body; 413 as soon as it passes `max_bytes` (declared or as it streams in);
    ClientDisconnect when the client leaves before the end."""
    if declared is not None:
        text = declared if isinstance(declared, str) else declared.decode("latin-1")
        if (ascii_int(text) or 0) > max_bytes:
            raise ApiError(413, f"{what} is {shorten(text, 40)} bytes; the limit is {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"{what} exceeds the limit of {max_bytes} bytes")
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_json_body(
    receive: Receive,
    headers: Mapping[bytes, bytes],
    *,
    required: bool,
    max_bytes: int,
    max_depth: int,
    thread_above: int,
    check: Callable[[Any], None],
) -> Any:
    """The parsed JSON body, passed by `check` (None when there is none and none is required).
    `headers`: the request's, by lower-case name."""
    raw = await read_body(receive, headers.get(b"content-length"), max_bytes, "request body (--max-body)")
    if not raw:
        if required:
            raise ApiError(400, "a JSON request body is required")
        return None
    content_type = headers.get(b"content-type", b"")
    media_type = "application/json"  # what nearly every client sends, as it is: no parsing
    if content_type != b"application/json":
        media_type = content_type.decode("latin-1").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        shown = shorten(media_type, 60) or "none"
        raise ApiError(415, f"Content-Type must be application/json (got {shown})")
    if len(raw) > thread_above:
        return await asyncio.get_running_loop().run_in_executor(_large_bodies(), _parse_large, raw, max_depth, check)
    value = parse_json(raw, max_depth, "request body")
    check(value)
    return value


_worker: ThreadPoolExecutor | None = None


def _large_bodies() -> ThreadPoolExecutor:
    # One thread: large bodies wait their turn rather than take the GIL from the loop together.
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mock-large-body")
    return _worker


def _parse_large(raw: bytes, max_depth: int, check: Callable[[Any], None]) -> Any:
    with _collector_paused():
        value = parse_json(raw, max_depth, "request body")
        try:
            check(value)
        except ApiError:
            del value  # freed here, not on the event loop when the error is answered
            raise
    return value


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    # Parsed JSON holds no reference cycles: reference counting frees it without the collector.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# The integers the mock can write back: orjson's signed and unsigned 64-bit range. In a request
# body, orjson reads a larger integer as a float (as a JavaScript client would); seed and state
# data, which the mock writes back verbatim, are held to this range (seed.py).
INT_RANGE = (-(2**63), 2**64 - 1)


def parse_json(raw: bytes, max_depth: int | None, what: str) -> Any:
    """Parse and refuse nesting past `max_depth` (None: only orjson's own limit), each with a
    400 naming the problem."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"{what} is not valid JSON: {exc}", code="malformed_json") from None
    # Counting brackets is a cheap C-speed pre-check; only suspicious bodies are walked.
    if max_depth is not None and raw.count(b"[") + raw.count(b"{") > max_depth and deeper_than(raw, max_depth):
        raise ApiError(400, f"{what} is nested more than {max_depth} levels deep", code="too_deep")
    return value


_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_AS_PARENS = bytes.maketrans(b"[{]}", b"(())")


def deeper_than(raw: bytes, limit: int) -> bool:
    """Whether valid JSON `raw` nests containers more than `limit` levels deep.

    On the text, at C speed: strings dropped, brackets kept as parentheses; each pass of
    `replace("()", "")` removes exactly the innermost level. Stops after `limit` passes, or
    as soon as nothing is left: a wide body of a million values costs two or three passes.
    """
    # Escaped backslashes, then escaped quotes, go first: every quote left opens or closes a
    # string, so the even pieces between quotes are the text outside strings.
    outside = b"".join(raw.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')[::2])
    structure = outside.translate(_AS_PARENS, _NOT_BRACKETS)
    for _ in range(limit):
        if not structure:
            return False
        structure = structure.replace(b"()", b"")
    return bool(structure)
