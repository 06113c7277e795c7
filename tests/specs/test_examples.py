"""Every example in the specs validates against the schema it illustrates."""

from typing import Any

import jsonschema_rs
import pytest

import specs


def _examples() -> list[Any]:
    cases = []
    for name in specs.API_NAMES:
        for op in specs.load(name).operations:
            body = op.request_body
            if body:
                media = body["content"]["application/json"]
                for key, example in media.get("examples", {}).items():
                    cases.append(
                        pytest.param(media["schema"], example["value"], id=f"{name}-{op.operation_id}-request-{key}")
                    )
            for status, response in op.definition["responses"].items():
                media = response.get("content", {}).get("application/json", {})
                for key, example in media.get("examples", {}).items():
                    cases.append(
                        pytest.param(media["schema"], example["value"], id=f"{name}-{op.operation_id}-{status}-{key}")
                    )
    return cases


EXAMPLES = _examples()


def test_there_are_examples_for_every_api() -> None:
    ids = [case.id for case in EXAMPLES]
    assert any(i.startswith("runtype-updateConversation-request") for i in ids)
    assert any(i.startswith("systemprompt-updateConversation-request") for i in ids)
    assert len(ids) >= 8


@pytest.mark.parametrize(("schema", "example"), EXAMPLES)
def test_example_matches_its_schema(schema: dict[str, Any], example: Any) -> None:
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    errors = [e.message for e in validator.iter_errors(example)]
    assert not errors
