"""Integers read from request text: ASCII decimal digits, nothing else.

`str.isdigit()` and `int()` take far more than a client means by a number: `int("２０")`,
`int("٣")`, `int(" 7")` and `int("2_0")` are all integers to Python, and `"²".isdigit()` is
true while `int("²")` raises. Every integer the mock reads from a request (query and path
parameters, `Prefer`, `Content-Length`, journal filters, cursors, Host ports) and from its
own flags goes through `ascii_int`; callers answer a 4xx naming what they were reading.
"""

from __future__ import annotations

import re

_UNSIGNED = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"[+-]?[0-9]+")


def ascii_int(text: str, *, signed: bool = False) -> int | None:
    """`text` as an integer if it is ASCII decimal digits (with `signed`, after an optional
    `+` or `-`); else None. No white space, underscores or other scripts' digits."""
    if (_SIGNED if signed else _UNSIGNED).fullmatch(text) is None:
        return None
    try:
        return int(text)
    except ValueError:  # past Python's limit on the digits of an int read from text
        return None
