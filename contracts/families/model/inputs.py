"""Valid but unusual request values, drawn from the specs' schemas: strings at and next to
every length limit in many scripts, metadata empty, wide, deep or full of odd keys, nulls
where a schema allows any value. Limits are read from the spec, never copied.

Every strategy shrinks towards the plain case (short ASCII, `{}`), so a shrunk failing
sequence shows the least unusual value that still breaks the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# Alphabets a server may mishandle, plainest first (the shrinker prefers the first).
PALETTES: tuple[str, ...] = (
    "abcxyz019 -_",
    "éñüßøÅ",  # Latin-1 letters: two UTF-8 bytes each
    "中文字漢",  # CJK: three UTF-8 bytes each
    "😀𝔘🀄𓀀",  # outside the BMP: one code point, four UTF-8 bytes, two UTF-16 units
    "e\u0301a\u0308",  # combining marks: two code points for one glyph
    "👩\u200d💻",  # a ZWJ sequence: one glyph, three code points
    "שלום مرحبا",  # right-to-left scripts
    "\u200b\u2060\ufeff",  # zero-width characters
    "<b>&amp;\"'\\/",  # markup and JSON's escapes
    "\t\n\r\x1b",  # control characters JSON escapes (NUL and lone surrogates are left out)
)
# Text without a documented limit gets these lengths: bounded, so a body stays well under
# any server's size limit.
FREE_LENGTHS = (0, 1, 2, 64, 1000)
# Metadata nested this deep (the body one level more) must be accepted; the mock refuses
# past 64 levels (rule 19), another server may draw its own line deeper than this.
NESTING = 16
# Metadata this wide (keys) must be accepted.
WIDTH = 200
# Integers a JavaScript server still holds exactly, and floats that survive a round trip.
NUMBERS: tuple[int | float, ...] = (0, -1, 2**53 - 1, -(2**53 - 1), 0.5, -2.25, 1e-7, 1.5e300)
ODD_KEYS = ("", "ключ", "😀", "__proto__", "constructor", "toString", "a.b", "a/b", "$where", "0", "k" * 200)


def text(length: int, palette: int) -> str:
    """`length` code points drawn in turn from one palette."""
    chars = PALETTES[palette]
    return (chars * (length // len(chars) + 1))[:length]


def lengths(schema: dict[str, Any]) -> list[int]:
    """At and next to each limit of a string schema, short ones first."""
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if high is None:
        return sorted({n for n in FREE_LENGTHS if n >= low})
    high = int(high)
    return sorted({n for n in (low, low + 1, 1, 2, high - 1, high) if low <= n <= high})


def strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """Strings the schema accepts: each length at or next to a limit, in each palette."""
    return st.builds(text, st.sampled_from(lengths(schema)), st.sampled_from(range(len(PALETTES))))


def _nested(depth: int, palette: int) -> dict[str, Any]:
    """Objects `depth` deep, an empty one beside the outermost."""
    node: dict[str, Any] = {"leaf": text(3, palette)}
    for level in range(depth - 1):
        node = {f"d{level}": node}
    return {**node, "empty": {}}


def _wide(width: int, palette: int) -> dict[str, Any]:
    return {f"{text(2, palette)}{i}": i for i in range(width)}


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, nulls, empty containers and odd numbers included, a few levels deep."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(NUMBERS),
        st.builds(text, st.sampled_from((0, 1, 5, 200)), st.sampled_from(range(len(PALETTES)))),
    )
    keys = st.one_of(st.sampled_from(("a", "b", *ODD_KEYS)), st.builds(text, st.just(4), st.integers(0, 9)))
    return st.recursive(
        scalars,
        lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)),
        max_leaves=8,
    )


def metadata() -> st.SearchStrategy[dict[str, Any]]:
    """A metadata object: empty, a few odd keys, wide, or deep."""
    keys = st.one_of(st.sampled_from(("topic", *ODD_KEYS)), st.builds(text, st.just(6), st.integers(0, 9)))
    return st.one_of(
        st.just({}),
        st.dictionaries(keys, json_values(), min_size=1, max_size=5),
        st.builds(_wide, st.sampled_from((50, WIDTH)), st.integers(0, len(PALETTES) - 1)),
        st.builds(_nested, st.sampled_from((2, NESTING)), st.integers(0, len(PALETTES) - 1)),
    )


def messages(item_schema: dict[str, Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of message objects, empty first; the documented item fields plus odd extras."""
    # The documented example's fields; any other key is allowed (the schema is open).
    documented = {"id": strings({"maxLength": 64}), "role": st.sampled_from(("user", "assistant", "system", "tool"))}
    content = strings(item_schema.get("properties", {}).get("content", {"type": "string"}))
    item = st.fixed_dictionaries(
        {**documented, "content": content},
        optional={"extra": json_values(), "😀": st.none()},
    )
    # A list with messages first (what an update that leaves them out must keep), then empty.
    return st.one_of(st.lists(item, min_size=1, max_size=4), st.just([]))


@dataclass(frozen=True)
class TagSlot:
    """An owner tag the machine turns into a run tag of the acting tenant: `slot` picks one
    of a few per tenant, `length` its length (0: the short tag; else at or next to the
    limit, padded with the slot's own palette). Few of them, so that sequences often write
    and filter by the same one."""

    slot: int
    length: int

    @property
    def palette(self) -> int:
        return TAG_PALETTES[self.slot % len(TAG_PALETTES)]


# What pads a long tag of each slot: characters outside the BMP, and combining marks.
TAG_PALETTES = (3, 4)


SAME = TagSlot(-1, 0)  # the tag of the sender's last conversation in this sequence, if any


def tag_slots(schema: dict[str, Any]) -> st.SearchStrategy[TagSlot]:
    """Mostly the first short tag (conversations sharing a tag fill a filtered walk), else
    the others, at and next to the limit."""
    high = schema.get("maxLength")
    sizes = [0] + ([int(high), int(high) - 1] if high is not None else [])
    others = [TagSlot(slot, size) for slot in range(len(TAG_PALETTES)) for size in sizes][1:]
    return st.sampled_from([TagSlot(0, 0)] * len(others) + others)


@dataclass(frozen=True)
class Fresh:
    """A value no conversation has (a filter that must match none of ours)."""

    name: str


def body_fields(
    properties: dict[str, Any], tag_field: str, special: dict[str, Callable[[dict[str, Any]], st.SearchStrategy[Any]]]
) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy per documented body field: the owner field gets tag slots, objects and
    arrays their special strategies, strings their limits."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, schema in properties.items():
        if name == tag_field:
            fields[name] = tag_slots(schema)
        elif name in special:
            fields[name] = special[name](schema)
        elif "string" in _types(schema):
            fields[name] = strings(schema)
        else:
            fields[name] = json_values()
    return fields


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type", "string")
    return set(kind) if isinstance(kind, list) else {kind}
