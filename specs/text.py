"""Text for people: cutting long text (one rule, one marker) and making a stranger's text
inert on a terminal."""

from __future__ import annotations

import re

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


_C1_OR_DEL = re.compile(rb"\x7f|\xc2[\x80-\x9f]")


def inert_json(data: bytes) -> bytes:
    """UTF-8 JSON text with DEL and the C1 controls (U+0080-U+009F) written as `\\u` escapes.
    JSON requires escapes for C0 only, so encoders leave these raw, and some terminals act on
    them (U+009B is an 8-bit CSI). Outside strings JSON has no such bytes, and an escape
    decodes to the same character: the data is unchanged for every JSON reader."""
    if b"\x7f" not in data and b"\xc2" not in data:
        return data
    return _C1_OR_DEL.sub(lambda m: f"\\u{ord(m.group().decode()):04x}".encode(), data)
