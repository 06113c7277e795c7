"""Reading a request body safely: size cap, media type, JSON, nesting depth.

Each way a body can be wrong gets its own clear 4xx before anything reaches validation.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from .errors import ApiError


async def read_json_body(request: Request, *, required: bool, max_bytes: int, max_depth: int) -> Any:
    """The parsed JSON body, or None when there is none and none is required."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, f"request body is {declared} bytes; the limit is {max_bytes} bytes (--max-body)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"request body exceeds the limit of {max_bytes} bytes (--max-body)")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        if required:
            raise ApiError(400, "a JSON request body is required")
        return None
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        shown = media_type[:60] or "none"
        raise ApiError(415, f"Content-Type must be application/json (got {shown})")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}", code="malformed_json") from None
    # Counting brackets is a cheap C-speed pre-check; only suspicious bodies are walked.
    if raw.count(b"[") + raw.count(b"{") > max_depth and _depth(body) > max_depth:
        raise ApiError(400, f"request body is nested more than {max_depth} levels deep", code="too_deep")
    return body


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in node)
    return deepest
