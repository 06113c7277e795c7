"""Whether an answer is JSON where the spec documents only JSON bodies for its status.

Rule 6 of docs/behaviour.md leaves an error body's fields open, not its media type: both
APIs document JSON bodies only and clients call `.json()` on errors too, so an answer that is
no JSON at all (a gateway's `text/html` 404 page, an empty or unparsable body) breaks
documented behaviour, whatever its status; a JSON body of another shape does not."""

from __future__ import annotations

import json

from . import Operation


def is_json_media_type(content_type: str) -> bool:
    """`application/json`, or a JSON-based type (`application/problem+json`), parameters aside."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def documents_json_only(op: Operation, status: int) -> bool:
    """Whether the spec gives this status of `op` a body, and JSON bodies only."""
    response = op.definition.get("responses", {}).get(str(status))
    content = response.get("content") if isinstance(response, dict) else None
    return isinstance(content, dict) and bool(content) and all(is_json_media_type(media) for media in content)


def not_json(op: Operation, status: int, content_type: str, body: bytes | str) -> str | None:
    """Why an answer is no JSON at all where the spec documents only JSON for its status, e.g.
    a gateway's `text/html` 404 page; None when it is JSON (of any shape), or when the spec
    documents something else (no body, another media type) for this status."""
    if not documents_json_only(op, status):
        return None
    if not is_json_media_type(content_type):
        return f"{content_type or 'no Content-Type'} is not a JSON media type"
    try:
        json.loads(body)
    except ValueError:
        return "the body is not JSON"
    return None


__all__ = ["documents_json_only", "is_json_media_type", "not_json"]
