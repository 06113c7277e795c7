"""The store's hand-written field lists are checked against the spec at start-up: a spec
change the store does not follow stops the mock with a message naming the field."""

import copy
from typing import Any

import pytest

import specs
from mockserver.api.runtype_fields import SpecMismatch, check_store, read
from mockserver.api.store import RuntypeConversation, Store, check_against_spec


def _spec(change: Any) -> specs.Spec:
    original = specs.load("runtype")
    content = copy.deepcopy(original.content)
    change(content)
    return specs.Spec(original.name, original.path, content)


def _limit(content: dict[str, Any]) -> dict[str, Any]:
    params = content["paths"]["/v1/conversations"]["get"]["parameters"]
    found: dict[str, Any] = next(p for p in params if p["name"] == "limit")
    return found


def _check(spec: specs.Spec) -> None:
    sample = RuntypeConversation(0, {"id": "", "title": "", "source": "app", "createdAt": "", "updatedAt": ""})
    check_store(
        read(spec),
        slots=RuntypeConversation.__slots__,
        to_json=sample.to_json(),
        summary=sample.summary(),
        hidden=("surface_id", "client_token_id"),
    )


def test_the_store_matches_the_shipped_spec() -> None:
    check_against_spec()
    _check(specs.load("runtype"))
    assert Store().tenants == {}


def test_a_conversation_field_the_store_lacks_is_caught() -> None:
    def add_field(content: dict[str, Any]) -> None:
        schema = content["components"]["schemas"]["Conversation"]
        schema["properties"]["archived"] = {"type": "boolean"}

    with pytest.raises(SpecMismatch, match=r"__slots__: .*missing \['archived'\]"):
        _check(_spec(add_field))


def test_a_field_the_spec_dropped_is_caught() -> None:
    def drop_field(content: dict[str, Any]) -> None:
        del content["components"]["schemas"]["ConversationSummary"]["properties"]["ownerId"]

    with pytest.raises(SpecMismatch, match=r"summary\(\): not in the spec \['ownerId'\]"):
        _check(_spec(drop_field))


def test_list_default_and_cap_are_read_from_the_spec() -> None:
    def change(content: dict[str, Any]) -> None:
        _limit(content)["schema"]["default"] = 7
        _limit(content)["x-mock-max-limit"] = 9

    fields = read(_spec(change))
    assert (fields.default_limit, fields.max_limit) == (7, 9)
    shipped = read(specs.load("runtype"))
    assert (shipped.default_limit, shipped.max_limit) == (20, 100)


def test_a_spec_without_the_cap_is_refused() -> None:
    with pytest.raises(SpecMismatch, match="x-mock-max-limit"):
        read(_spec(lambda content: _limit(content).pop("x-mock-max-limit")))


def test_seed_defaults_follow_nullability_and_documented_defaults() -> None:
    fields = read(specs.load("runtype"))
    assert fields.seed_defaults == {
        "title": "New Chat",
        "modelId": None,
        "systemPrompt": None,
        "ownerId": None,
        "metadata": {},
        "messages": [],
        "source": "app",
    }

    def not_nullable(content: dict[str, Any]) -> None:
        content["components"]["schemas"]["Conversation"]["properties"]["ownerId"] = {"type": "object"}

    assert read(_spec(not_nullable)).seed_defaults["ownerId"] == {}
