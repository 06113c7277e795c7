"""What reports show: ids stay one path segment; keys are redacted before texts are cut;
evidence shows a JSON body from its parsed value, so no escape hides a key in it (our
checks' evidence and Schemathesis' alike), and any other body as its text, redacted."""

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import specs
from contracts.context import describe
from contracts.families.fixtures import UnaddressableId, fill_path
from contracts.families.schemathesis.events import read_events
from contracts.target import Exchange
from specs.redact import Redactor


def test_ids_are_percent_encoded_into_one_path_segment() -> None:
    get = specs.load("runtype").operation("getConversation")
    assert fill_path(get, "../../x") == "/v1/conversations/..%2F..%2Fx"
    assert fill_path(get, "a b?c#d") == "/v1/conversations/a%20b%3Fc%23d"
    for bad in ("", ".", "..", "\ud800"):
        with pytest.raises(UnaddressableId):
            fill_path(get, bad)


def test_a_key_at_the_cut_point_is_redacted_not_half_shown() -> None:
    key = "sk-live-0123456789abcdef"
    request = httpx.Request("GET", "http://h/v1/conversations")
    body = "x" * 580 + key + "y" * 100
    response = httpx.Response(400, text=body, headers={"content-type": "text/plain"}, request=request)
    text = describe(Exchange(request, response), Redactor([key]))
    assert "sk-live" not in text and "0123" not in text
    assert text.endswith("…") and len(text) <= 600


# A key with every character an escaping layer rewrites (quotes, backslash, <, &), around
# alphanumeric cores that every written form keeps: a core found is the key found.
ESCAPED_KEY = "sk\"'\\<&>live0123abcd"
CORES = ("live0123abcd",)


def _traces(text: str) -> list[str]:
    """The key's cores in any form they survive in: as they are, or one \\u escape each."""
    forms = [f for core in CORES for f in (core, "".join(f"\\u{ord(c):04x}" for c in core))]
    return [form for form in forms if form in text]


def _described(status: int, content_type: str, body: str, key: str) -> str:
    """What our checks' evidence shows of this answer (`context.describe`)."""
    request = httpx.Request("GET", "http://h/v1/conversations/x")
    response = httpx.Response(status, content=body.encode(), headers={"content-type": content_type}, request=request)
    return describe(Exchange(request, response), Redactor([key]))


def _schemathesis_got(tmp_path: Path, status: int, content_type: str, body: str, key: str) -> str:
    """What Schemathesis' evidence shows of this answer, read back from its NDJSON events."""
    interaction = {
        "request": {"method": "GET", "uri": "http://h/v1/conversations/x", "headers": {}},
        "response": {
            "status_code": status,
            "headers": {"content-type": [content_type]},
            "content": {"$base64": base64.b64encode(body.encode()).decode()},
        },
    }
    recorder: dict[str, Any] = {"cases": {"c": {"value": {"method": "GET", "path": "/v1/conversations/{id}"}}}}
    recorder["interactions"] = {"c": interaction}
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps({"ScenarioFinished": {"recorder": recorder}}) + "\n")
    (case,) = read_events(events).cases
    return case.got(Redactor([key]))


def test_a_key_under_a_repr_inside_a_json_string_is_redacted(tmp_path: Path) -> None:
    # The mock's 404: `conversation 'KEY' not found`, a Python repr, then JSON-encoded:
    # JSON-escape(repr(key)) is in no written form of the key a redactor of the text knows.
    body = json.dumps({"error": "not_found", "message": f"conversation {ESCAPED_KEY!r} not found"})
    assert CORES[0] in body and ESCAPED_KEY not in body and repr(ESCAPED_KEY)[1:-1] not in body
    for got in (
        _described(404, "application/json", body, ESCAPED_KEY),
        _schemathesis_got(tmp_path, 404, "application/json", body, ESCAPED_KEY),
    ):
        assert _traces(got) == []
        assert got == '404 application/json {"error":"not_found","message":"conversation \'[REDACTED]\' not found"}'


def test_a_key_written_as_json_unicode_escapes_is_redacted(tmp_path: Path) -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in ESCAPED_KEY)
    body = f'{{"echo": "{escaped}", "id": "conv_1"}}'
    assert json.loads(body)["echo"] == ESCAPED_KEY  # the server did send the key
    for got in (
        _described(201, "application/json", body, ESCAPED_KEY),
        _schemathesis_got(tmp_path, 201, "application/json", body, ESCAPED_KEY),
    ):
        assert _traces(got) == []
        assert got == '201 application/json {"echo":"[REDACTED]","id":"conv_1"}'


def test_a_body_that_is_not_json_keeps_its_text_redacted(tmp_path: Path) -> None:
    # Not JSON, so `\u0051` is six characters of text: shown as sent, the key in it redacted.
    body = f"refused {ESCAPED_KEY} \\u0051 \x1b[2J {{not json"
    for got in (
        _described(401, "text/plain", body, ESCAPED_KEY),
        _schemathesis_got(tmp_path, 401, "text/plain", body, ESCAPED_KEY),
    ):
        assert got == "401 text/plain refused [REDACTED] \\u0051 \x1b[2J {not json"


def test_a_key_in_the_content_type_and_a_json_body_too_deep_to_parse() -> None:
    deep = "[" * 100_000 + f'"{ESCAPED_KEY}"'  # no JSON reader recurses this deep: shown as text
    got = _described(200, f"application/x-{ESCAPED_KEY}+json", deep, ESCAPED_KEY)
    assert _traces(got) == [] and got.startswith("200 application/x-[REDACTED]+json [[[")
