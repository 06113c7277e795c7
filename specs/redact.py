"""Keeping credentials out of everything written down: journals, logs, reports, curl lines.

Two rules, one place. By name: a header or query parameter whose name looks like it carries
a credential (a security scheme's header, or any name containing `auth`, `key`, `token`,
`secret`, `password`, `cookie` or `session`) has its value replaced. By value: a `Redactor`
knows the actual keys in play (the suite's) and replaces them wherever they appear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from .auth import all_secret_header_names
from .text import shorten

REDACTED = "[REDACTED]"
_CREDENTIAL_WORDS = re.compile(r"auth|key|token|secret|password|passwd|cookie|session", re.IGNORECASE)


class Secret(str):
    """A credential: a str for headers (`str(key)`, f-strings), `[REDACTED]` in any repr, so
    that a traceback with locals (pytest -l, --tb=long) or a dataclass repr cannot show it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(REDACTED)


def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter of this name may carry a credential."""
    return name.lower() in all_secret_header_names() or _CREDENTIAL_WORDS.search(name) is not None


def redact_header(name: str, value: str) -> str:
    """The value to show for header `name`: `Bearer [REDACTED]` keeps the scheme word."""
    if not is_secret_name(name):
        return value
    scheme, sep, _ = value.strip().partition(" ")
    if sep and name.lower().endswith("authorization"):
        return f"{scheme} {REDACTED}"
    return REDACTED


def redact_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict (names lower case; a repeated header keeps its last value), redacted."""
    return {name.lower(): redact_header(name, value) for name, value in pairs}


def redact_query(query: str) -> str:
    """A query string with the values of credential-looking parameters replaced."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_secret_name(name) for name, _ in pairs):
        return query
    return urlencode([(n, REDACTED if is_secret_name(n) else v) for n, v in pairs], safe="[]")


def redact_url(url: str) -> str:
    """A URL without its password and with credential-looking query parameters redacted."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, _ = userinfo.partition(":")
        netloc = f"{quote(user, safe='')}:{REDACTED}@{host}" if sep else f"{REDACTED}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, redact_query(parts.query), parts.fragment))


class Redactor:
    """Replaces known secret values wherever they appear in a text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Each key also as the text that carries it escaped: inside a JSON string (a key with
        # `"` or `\\`), percent-encoded in a path or query, in a Python repr. Longest first, so that a key
        # containing another key is replaced whole.
        keys = {s for s in secrets if s}
        self._count = len(keys)
        forms = {form for s in keys for form in _written_forms(s)}
        self._secrets = sorted(forms, key=len, reverse=True)
        # Many secrets (the proxy remembers its clients' keys): one pass of a regex over the
        # text instead of one search per secret, 4x faster at 256 keys.
        self._pattern = _one_pattern(self._secrets) if len(self._secrets) > _PATTERN_FROM else None

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            return self._pattern.sub(REDACTED, text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def json(self, value: Any) -> Any:
        """A parsed JSON value with the secrets replaced in every string, keys included: no
        escape sequence (`\\u002d`) can hide a key from a redactor that reads the text."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self(k): self.json(v) for k, v in value.items()}
        return value

    def body(self, text: str) -> str:
        """A message body as text for a person (evidence, a curl line): a JSON body rendered
        from its parsed value redacted by `json` (no escape, `\\u0051` or a repr's `\\'`
        inside a JSON string, hides a key), compact; any other text redacted as text."""
        try:
            return json.dumps(self.json(json.loads(text)), ensure_ascii=False, separators=(",", ":"))
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
            return self(text)

    def query(self, query: str) -> str:
        """A query string with credential-looking parameters and any known secret redacted,
        read after percent-decoding (a key sent as `sekrit%2DKEY` is still the key)."""
        if not query:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        shown = [(self(n), REDACTED if is_secret_name(n) else self(v)) for n, v in pairs]
        return query if shown == pairs else urlencode(shown, safe="[]")

    def excerpt(self, text: str, limit: int) -> str:
        """Redacted, then shortened: in this order a key at the cut point cannot half-survive."""
        return shorten(self(text), limit)

    def prefix(self, text: str) -> str:
        """`text`, the start of a longer text that was cut (a capped capture), redacted; a
        secret's start left at the cut point is dropped too: half a key is still a key."""
        text = self(text)
        for secret in self._secrets:
            start = max(len(text) - len(secret) + 1, 0)
            while (found := text.find(secret[0], start)) >= 0:
                if secret.startswith(text[found:]):
                    text = text[:found]
                    break
                start = found + 1
        return text

    def __repr__(self) -> str:
        return f"Redactor({self._count} secrets)"


_PATTERN_FROM = 16


def _one_pattern(secrets: list[str]) -> re.Pattern[str] | None:
    """The secrets as one regex, a trie of alternatives (the longest match wins at each
    place, as the longest secret goes first without it); None if it cannot be compiled."""
    trie: dict[str, Any] = {}
    for secret in secrets:
        node = trie
        for char in secret:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        # A run of single children is one literal: the nesting follows the branches only.
        text = ""
        while len(node) == 1 and "" not in node:
            [(char, node)] = node.items()
            text += char
        if not node or list(node) == [""]:
            return re.escape(text)
        branches = [build({char: child}) for char, child in node.items() if char]
        inner = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return re.escape(text) + ("(?:" + inner + ")?" if "" in node else inner)

    try:
        return re.compile(build(trie))
    except (RecursionError, re.error):
        return None


def _written_forms(secret: str) -> set[str]:
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        # Python's repr (`\\` doubled, `\'` escaped): jsonschema's messages and Python-made
        # text quote values this way.
        str.__repr__(secret)[1:-1],  # str.__repr__: a Secret hides itself from repr()
    }
