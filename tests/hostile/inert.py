"""What "inert" means for an output a hostile server's text reached, as checks that return
what they found wrong (empty: inert): no key in any written form, no raw control character,
reports that parse, and no Markdown or HTML element the server's text put there."""

from __future__ import annotations

import html.parser
import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable

from markdown_it import MarkdownIt
from markdown_it.token import Token

from corpus.hostile import CANARY

# The keys a test passes (to the suite, or through the proxy): each holds the characters that
# an escaping step writes otherwise (quotes, backslash, <, &, |, backtick, %, +), between
# 8-character cores that every written form keeps as they are: a core found is the key found,
# however the text around it was escaped (JSON, percent, HTML, XML, shell, Python repr).
API_KEY = "QzX7fT2a\"<&>\\'|`%+Wq9Lm4Rv"
OTHER_KEY = "Hb3Kp9Ws\"\\'<tag>&amp;Yc5Nd2Jx"
READONLY_KEY = "Rt6Gv1Qe%2F%22+|`Lm8Px4Bz"
KEYS = (API_KEY, OTHER_KEY, READONLY_KEY)
_CORES = tuple(core for key in KEYS for core in re.findall(r"[A-Za-z0-9]{8}", key))


def _escaped_forms(core: str) -> set[str]:
    # The one form in which the alphanumerics change: each character a JSON \u escape.
    return {core, "".join(f"\\u{ord(c):04x}" for c in core), "".join(f"\\u{ord(c):04X}" for c in core)}


_TRACES = tuple(form for core in _CORES for form in _escaped_forms(core))


def key_traces(text: str) -> list[str]:
    """Where any part of a key shows, with what is around it."""
    found = []
    for trace in _TRACES:
        at = text.find(trace)
        if at >= 0:
            found.append(ascii(text[max(at - 60, 0) : at + len(trace) + 20]))
    return found


def raw_controls(text: str, allowed: str = "\n\t") -> list[str]:
    """Characters a terminal or a log viewer acts on (what `specs.text.printable` escapes),
    found raw, with what is around them."""
    found = []
    for at, char in enumerate(text):
        if char not in allowed and not char.isprintable():
            found.append(ascii(text[max(at - 30, 0) : at + 10]))
            if len(found) >= 5:
                break
    return found


def raw_control_bytes(data: bytes) -> list[str]:
    """C0 controls (but line feed and tab), DEL and C1 controls, raw in a UTF-8 file or body
    (escaped in JSON they are data: `\\u001b` is six printable characters)."""
    text = data.decode("utf-8", "replace")
    found = []
    for at, char in enumerate(text):
        code = ord(char)
        if (code < 0x20 and char not in "\n\t") or 0x7F <= code <= 0x9F:
            found.append(ascii(text[max(at - 30, 0) : at + 10]))
            if len(found) >= 5:
                break
    return found


def json_problems(data: bytes) -> list[str]:
    try:
        json.loads(data)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    return []


def xml_problems(data: bytes) -> list[str]:
    try:
        ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        return [f"not XML: {exc}"]
    return []


# Our own Markdown: the raw HTML it writes (a collapsible block) and its tables' first headers.
_OUR_HTML = re.compile(r"\s*(<details>|</details>|<summary>[^<>]*</summary>|<details><summary>[^<>]*</summary>)\s*")
_OUR_TABLES = ("API", "operation")
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def markdown_problems(text: str) -> list[str]:
    """Elements of the rendered Markdown (CommonMark, with GitHub's tables) that the server's
    text made: a heading, image, link, raw HTML, table or emphasis holding its text, or any
    image, link or raw HTML that is not the report's own."""
    found: list[str] = []
    blocks: list[str] = []
    for token in _MARKDOWN.parse(text):
        if token.nesting == 1:
            blocks.append(token.type)
        elif token.nesting == -1:
            blocks.pop()
        if token.type == "html_block" and not _OUR_HTML.fullmatch(token.content):
            found.append(f"raw HTML block {token.content[:80]!r}")
        if token.type == "table_open":
            found += _foreign_table(text, token.map)
        if token.type == "inline":
            found += _inline_problems(token.children or [], blocks)
    return found


def _inline_problems(children: Iterable[Token], blocks: list[str]) -> list[str]:
    found: list[str] = []
    inline: list[str] = []
    for child in children:
        kind, nesting, content = child.type, child.nesting, child.content
        if nesting == 1:
            inline.append(kind)
        elif nesting == -1 and inline:
            inline.pop()
        if kind in ("image", "link_open"):
            found.append(f"{kind} {child.attrs!r}")
        elif kind == "html_inline" and not _OUR_HTML.fullmatch(content):
            found.append(f"raw HTML {content[:80]!r}")
        elif CANARY in content and (inline or {"heading_open", "th_open"} & set(blocks)):
            found.append(f"the server's text inside {[*blocks, *inline]}: {content[:80]!r}")
    return found


def _foreign_table(text: str, where: list[int] | None) -> list[str]:
    if where is None:
        return []
    header = text.splitlines()[where[0]]
    first = header.strip().strip("|").split("|")[0].strip()
    return [] if first in _OUR_TABLES else [f"a table the server made: {header[:80]!r}"]


_SCRIPT_TYPES = ("", "text/javascript", "application/javascript", "module")


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_code = False  # inside a script the browser would run

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = tag + " " + " ".join(f"{k}={v}" for k, v in attrs)
        if CANARY in text:
            self.found.append(f"an element the server's text made: <{text[:100]}>")
        if tag == "script":
            self._in_code = (dict(attrs).get("type") or "").lower() in _SCRIPT_TYPES

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._in_code and CANARY in data:
            self.found.append(f"the server's text in a script that runs: {data[:80]!r}")

    def handle_comment(self, data: str) -> None:
        if CANARY in data:
            self.found.append(f"a comment the server's text made: {data[:80]!r}")

    def handle_decl(self, decl: str) -> None:
        if CANARY in decl:
            self.found.append(f"a declaration the server's text made: {decl[:80]!r}")

    def handle_pi(self, data: str) -> None:
        if CANARY in data:
            self.found.append(f"a processing instruction the server's text made: {data[:80]!r}")

    def unknown_decl(self, data: str) -> None:
        if CANARY in data:
            self.found.append(f"a CDATA section the server's text made: {data[:80]!r}")


def html_problems(text: str) -> list[str]:
    """Elements, attributes, comments the server's text made in an HTML page, and its text
    inside a script the browser would run."""
    parser = _Elements()
    parser.feed(text)
    parser.close()
    return parser.found
