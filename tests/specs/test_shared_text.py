"""The rules both sides share for text: terminal-safe text, curl lines, redaction of a key's
written forms, the one inflater."""

from __future__ import annotations

import gzip
import json
import shlex
import zlib

import pytest

from specs.curl import BODY_LIMIT, URL_LIMIT, curl_line
from specs.inflate import NotInflatable, TooLarge, coding_of, inflate, inflate_all
from specs.redact import REDACTED, Redactor, Secret
from specs.text import inert_json, printable, shorten

HOSTILE = "a\x1b]0;pwned\x07b\x1b[2Jc\rd\ne\u202ef\u200bg\U000e0041h\x85i\u2028j\x7f"


def test_printable_leaves_no_character_a_terminal_acts_on() -> None:
    shown = printable(HOSTILE)
    assert shown.isprintable()
    assert "\\x1b]0;pwned\\x07" in shown and "\\r" in shown and "\\n" in shown
    assert "\\u202e" in shown and "\\u200b" in shown and "\\U000e0041" in shown and "\\x85" in shown
    # Text people write passes as it is: accents, emoji, CJK.
    assert printable("Grüße 😀 会話 'quoted' \\ back") == "Grüße 😀 会話 'quoted' \\ back"


KEY = 'sk-"live\\key/1 2'


def test_a_key_is_redacted_in_every_form_it_is_written_in() -> None:
    redact = Redactor([KEY])
    for text in (
        KEY,
        json.dumps({"id": KEY}),
        "/v1/conversations/sk-%22live%5Ckey%2F1%202",
        "q=sk-%22live%5Ckey%2F1+2",
    ):
        assert "live" not in redact(text), text
        assert REDACTED in redact(text)
    assert repr(redact) == "Redactor(1 secrets)"


def test_a_curl_line_is_redacted_bounded_and_pastes_as_one_command() -> None:
    redact = Redactor([KEY])
    body = json.dumps({"title": KEY, "note": "x" * 10_000}).encode()
    line = curl_line(
        "POST",
        "http://127.0.0.1:8000/v1/" + "p" * 60_000 + "?api_key=other&q=1",
        [("Authorization", f"Bearer {KEY}"), ("Content-Type", "application/json"), ("Host", "h")],
        body,
        redact,
    )
    assert "live" not in line and "other" not in line
    words = shlex.split(line)
    assert words[:3] == ["curl", "-X", "POST"]
    assert len(words[3]) <= URL_LIMIT
    assert words[words.index("--data-binary") + 1].startswith('{"title":"[REDACTED]"')
    assert len(words[words.index("--data-binary") + 1]) <= BODY_LIMIT
    assert "Authorization: Bearer [REDACTED]" in words and not any(w.startswith("Host") for w in words)
    # A body that is not JSON is still redacted by value.
    assert "live" not in curl_line("PUT", "http://h/x", [], f"raw {KEY} text", redact)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "x-gzip"])
def test_inflate_stops_a_bomb_at_its_cap(coding: str) -> None:
    data = b"\0" * (50 * 1024 * 1024)
    raw = gzip.compress(data) if coding != "deflate" else zlib.compress(data)
    assert len(raw) < 100_000
    with pytest.raises(TooLarge):
        for chunk in inflate([raw], coding, cap=1024 * 1024):
            assert len(chunk) <= 64 * 1024
    assert (
        inflate_all(gzip.compress(b"hello") if coding != "deflate" else zlib.compress(b"hello"), coding, 10) == b"hello"
    )


def test_inflate_takes_raw_deflate_and_refuses_what_is_not_its_coding() -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert inflate_all(raw.compress(b"raw deflate") + raw.flush(), "deflate", 100) == b"raw deflate"
    with pytest.raises(NotInflatable):
        inflate_all(b"not gzip at all", "gzip", 100)
    with pytest.raises(NotInflatable):
        inflate_all(gzip.compress(b"cut short" * 100)[:20], "gzip", 10_000)
    with pytest.raises(NotInflatable):
        inflate_all(b"x", "br", 100)


def test_coding_of_names_the_coding_to_undo() -> None:
    assert coding_of(None) is None and coding_of("identity") is None and coding_of(" GZIP ") == "gzip"
    assert coding_of("gzip, br") == "gzip,br"


def test_shorten_keeps_the_start_or_the_end_within_the_limit() -> None:
    assert shorten("abcdef", 6) == "abcdef"
    assert shorten("abcdef", 4) == "abc…"
    assert shorten("abcdef", 4, keep_end=True) == "…def"
    assert shorten("abcdef", 1, keep_end=True) == "…" and len(shorten("x" * 50, 10, keep_end=True)) == 10


def test_a_key_in_a_python_repr_is_redacted_too() -> None:
    key = "ab'c\\d\"e"
    redact = Redactor([key])
    for text in (repr(key), f"conversation {key!r} not found", repr({"id": key})):
        assert "ab" not in redact(text).replace("[REDACTED]", ""), text


def test_a_secret_that_hides_its_repr_is_still_found_in_one() -> None:
    key = Secret("ab'c\\d\"e")
    assert repr(key) == "'[REDACTED]'"
    assert "ab" not in Redactor([key])(f"{str.__repr__(key)} is not of type 'integer'").replace("[REDACTED]", "")


def test_inert_json_escapes_del_and_c1_and_changes_no_value() -> None:
    value = {"t": "a\x7fb\x85c\x9b[2J é £ ©\u0080 😀", "n": [1, "\x9f"]}
    data = json.dumps(value, ensure_ascii=False).encode()
    out = inert_json(data)
    assert json.loads(out) == value
    assert b"\x7f" not in out and not any(0x7F <= ord(c) <= 0x9F for c in out.decode())
    assert "é £ ©" in out.decode() and "\\u0085" in out.decode()
    assert inert_json(b'{"plain": "ascii"}') == b'{"plain": "ascii"}'
