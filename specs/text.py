"""Cutting long text for messages and reports: one rule, one marker."""

from __future__ import annotations

ELLIPSIS = "…"


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis.

    Callers that may hold secrets redact first and shorten after: a key cut in half by the
    limit is no longer recognisable to a redactor.
    """
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS
