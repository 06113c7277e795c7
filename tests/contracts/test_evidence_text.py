"""What reports show: ids stay one path segment; keys are redacted before texts are cut."""

import httpx
import pytest

import specs
from contracts.context import describe
from contracts.families.fixtures import UnaddressableId, fill_path
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
