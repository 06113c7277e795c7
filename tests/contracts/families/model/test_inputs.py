"""The model family's inputs: valid by the spec's own schemas, at and next to every limit the
spec sets (read from it, never copied), in many scripts, with odd metadata."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from hypothesis import given, settings

import specs
from contracts.context import Context
from contracts.families.model import inputs, machines
from contracts.families.model.explore import Budget, Explorer
from contracts.families.model.inputs import TagSlot
from contracts.target import Client, Target

RUNTYPE = specs.load("runtype")
CREATE = RUNTYPE.operation("createConversation").request_schema() or {}
UPDATE = RUNTYPE.operation("updateConversation").request_schema() or {}
SP_UPDATE = specs.load("systemprompt").operation("updateConversation").request_schema() or {}


def test_lengths_sit_at_and_next_to_the_specs_limits() -> None:
    title, owner = CREATE["properties"]["title"], CREATE["properties"]["ownerId"]
    high = title["maxLength"]
    assert {high - 1, high} <= set(inputs.lengths(title)) and max(inputs.lengths(title)) == high
    low, top = owner["minLength"], owner["maxLength"]
    assert min(inputs.lengths(owner)) == low and {low + 1, top - 1, top} <= set(inputs.lengths(owner))


def test_text_counts_code_points_and_keeps_to_its_palette() -> None:
    for palette, chars in enumerate(inputs.PALETTES):
        value = inputs.text(500, palette)
        assert len(value) == 500 and set(value) <= set(chars)
    assert len(inputs.text(3, 3).encode("utf-16-le")) == 12  # astral: two UTF-16 units each


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator(schema)


@settings(max_examples=150, deadline=None, database=None)
@given(
    machines._body(RUNTYPE, "createConversation", True),
    machines._body(RUNTYPE, "updateConversation", False),
    machines._body(specs.load("systemprompt"), "updateConversation", False),
)
def test_every_body_is_valid_by_the_spec_and_bounded(create: Any, update: Any, sp_update: Any) -> None:
    slot = TagSlot(0, 0)
    for body, schema in ((create, CREATE), (update, UPDATE), (sp_update, SP_UPDATE)):
        concrete = {k: ("convo-contracts-x" if isinstance(v, TagSlot) else v) for k, v in body.items()}
        assert _validator(schema).is_valid(concrete), concrete
        assert _depth(concrete) <= inputs.NESTING + 2
        assert len(json.dumps(concrete)) < 64 * 1024
    assert isinstance(create["ownerId"], TagSlot) or create["ownerId"] == slot  # every create is tagged


@settings(max_examples=100, deadline=None, database=None)
@given(inputs.metadata())
def test_metadata_is_empty_wide_deep_or_odd_and_always_an_object(metadata: dict[str, Any]) -> None:
    assert isinstance(metadata, dict)
    assert len(metadata) <= inputs.WIDTH and _depth(metadata) <= inputs.NESTING
    assert json.loads(json.dumps(metadata)) == metadata  # plain JSON: what is sent can be read back


def test_wide_and_deep_metadata_reach_their_bounds() -> None:
    assert len(inputs._wide(inputs.WIDTH, 0)) == inputs.WIDTH
    assert _depth(inputs._nested(inputs.NESTING, 3)) == inputs.NESTING


def test_owner_tags_of_every_length_the_spec_allows_are_the_runs_own(tmp_path: Any) -> None:
    target = Target(base_url="http://127.0.0.1:9", api_key="demo-alice", other_key="demo-bob")
    ctx = Context(target, "runtype", "model", Client(target, "runtype"), "convo-contracts-1234abcd")
    explorer = Explorer(ctx, Budget(1, 1, 1.0))
    schema = CREATE["properties"]["ownerId"]
    for length in (0, schema["maxLength"] - 1, schema["maxLength"]):
        for slot in (0, 1):
            main, other = (
                explorer.owner_tag("main", TagSlot(slot, length)),
                explorer.owner_tag("other", TagSlot(slot, length)),
            )
            assert main.startswith(ctx.run_tag) and other.startswith(ctx.run_tag) and main != other
            assert len(main) == (length or len(main)) and len(main) <= schema["maxLength"]
    # Each tag is recorded for clean-up, with the key that writes it.
    assert len(ctx.tags) == len(set(ctx.tags)) == 6 and len(ctx.other_tags) == 6
    ctx.client.close()
