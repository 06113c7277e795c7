import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

import specs


@pytest.mark.parametrize("name", specs.API_NAMES)
def test_spec_is_valid_openapi_3_1(name: str) -> None:
    spec = specs.load(name)
    assert spec.content["openapi"].startswith("3.1")
    validate(spec.content, cls=OpenAPIV31SpecValidator)


@pytest.mark.parametrize("name", specs.API_NAMES)
def test_every_operation_names_its_documentation_page(name: str) -> None:
    for operation in specs.load(name).operations:
        assert "Documentation page:" in operation.definition["description"], operation.operation_id


def test_loader_returns_path_and_content() -> None:
    spec = specs.load("runtype")
    assert spec.path.name == "runtype.yaml" and spec.path.is_file()
    assert spec.content["info"]["title"].startswith("Runtype")


def test_loader_rejects_unknown_name() -> None:
    with pytest.raises(KeyError, match="unknown API"):
        specs.load("stripe")
