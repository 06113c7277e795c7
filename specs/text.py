"""Text for people: cutting long text (one rule, one marker) and making a stranger's text
inert on a terminal."""

from __future__ import annotations

ELLIPSIS = "…"


def shorten(text: str, limit: int, *, keep_end: bool = False) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis; with
    `keep_end`, its last characters are kept (the tail of a log), the ellipsis first.

    Callers that may hold secrets redact first and shorten after: a key cut in half by the
    limit is no longer recognisable to a redactor.
    """
    if len(text) <= limit:
        return text
    kept = max(limit - 1, 0)
    if keep_end:
        return ELLIPSIS + (text[-kept:] if kept else "")
    return text[:kept] + ELLIPSIS


def printable(text: str) -> str:
    """`text` with every character a terminal or a log viewer would act on shown escaped:
    control characters (ESC, CR, LF, BEL, C1), bidirectional and zero-width format
    characters, line and paragraph separators: `\\x1b`, `\\r`, `\\u202e`. A server's or a
    client's text goes through this before it reaches a console or a log line, so it cannot
    move the cursor, set the window title, hide text or forge a line of our output."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
