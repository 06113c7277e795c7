"""The suite's Markdown as a CommonMark renderer (with GitHub's tables) reads it, and the
elements in it a server's text could have made."""

from __future__ import annotations

from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

# The only HTML the Markdown report writes itself: collapsible sections.
OUR_HTML = ("<details>", "</details>", "<summary>", "</summary>")
# Tokens whose content is shown as code, never parsed: where a server's text may appear.
CODE = frozenset({"code_inline", "fence", "code_block"})


def tokens(markdown: str) -> Iterator[Token]:
    """Every token of the rendered document, inline children included."""
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for token in parser.parse(markdown):
        yield token
        yield from token.children or ()


def stranger_elements(markdown: str, marker: str) -> list[str]:
    """What in `markdown` a server's text (every piece of it carries `marker`) made other than
    code: a heading, a link, an image, raw HTML, a table cell or plain text holding it; and
    any link, image or HTML at all that is not the report's own."""
    found = []
    for token in tokens(markdown):
        carried = marker in token.content or any(marker in str(v) for v in (token.attrs or {}).values())
        if token.type == "inline":
            continue  # a container: its children are judged one by one
        if carried and token.type not in CODE:
            found.append(f"{token.type}: {token.content or token.attrs}")
        if token.type in ("link_open", "image"):
            found.append(f"{token.type}: {token.attrs}")
        if token.type in ("html_inline", "html_block"):
            rest = token.content
            for tag in OUR_HTML:
                rest = rest.replace(tag, "")
            if "<" in rest:
                found.append(f"{token.type}: {token.content!r}")
    return found


def headings(markdown: str) -> list[str]:
    """The text of every heading."""
    found, inside = [], False
    for token in tokens(markdown):
        if token.type == "heading_open":
            inside = True
        elif token.type == "heading_close":
            inside = False
        elif inside and token.type == "inline":
            found.append(token.content)
    return found
