"""The pytest plugin, through pytest's own pytester: fixtures for client tests, conformance
items, xdist, and no key in any output."""

import re
from pathlib import Path
from typing import Any

import pytest

from corpus.broken import FAULTS, FaultyApp
from mockserver.background import BackgroundServer

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("demo-alice", "demo-bob", "demo-readonly")

CLIENT_TESTS = """
import httpx
import pytest


def test_journal_sees_what_the_client_sent(convo_mock):
    with httpx.Client(base_url=convo_mock.base_url, headers=convo_mock.headers()) as client:
        created = client.post("/v1/conversations", json={"title": "from my client"})
    assert created.status_code == 201
    (entry,) = convo_mock.requests
    assert entry["method"] == "POST" and entry["body"] == {"title": "from my client"}
    assert entry["headers"]["authorization"] == "Bearer [REDACTED]"


def test_state_is_reset_between_tests(convo_mock):
    listed = httpx.get(convo_mock.base_url + "/v1/conversations", headers=convo_mock.headers()).json()
    titles = [c["title"] for c in listed["conversations"]]
    assert "from my client" not in titles and len(titles) == 3


@pytest.mark.convo_mock(code=500)
def test_forced_error(convo_mock):
    assert httpx.get(convo_mock.base_url + "/v1/conversations", headers=convo_mock.headers()).status_code == 500


@pytest.mark.convo_mock(api="systemprompt", empty=True)
def test_systemprompt_empty(convo_mock):
    assert httpx.get(convo_mock.base_url + "/v1/conversation", headers=convo_mock.headers()).json() == []


def test_seed_and_state(convo_mock):
    convo_mock.seed({"tenants": {"demo-alice": {"runtype": [{"id": "conv_x", "title": "seeded"}]}}})
    assert [c["id"] for c in convo_mock.state()["tenants"]["demo-alice"]["runtype"]] == ["conv_x"]


@pytest.mark.anyio
async def test_async_client(convo_mock):
    async with httpx.AsyncClient(base_url=convo_mock.base_url, headers=convo_mock.headers()) as client:
        response = await client.get("/v1/conversations/conv_demo1_1")
    assert response.json()["title"] == "Help with Python"


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def test_client_test_suite_using_convo_mock_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_client=CLIENT_TESTS)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=6)
    assert not any(s in result.stdout.str() for s in SECRETS)


def test_works_under_xdist_with_two_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_client=CLIENT_TESTS)
    result = pytester.runpytest_subprocess("-q", "-n", "2")
    result.assert_outcomes(passed=6)


def test_readme_example_runs_as_written(pytester: pytest.Pytester) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use in your pytest suite", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    assert len(code.group(1).strip().splitlines()) <= 15
    pytester.makepyfile(test_readme=code.group(1))
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=2)


def test_options_are_listed_in_their_own_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        ["convo-contracts: conformance suite and mock server:", "*--contract-url*", "*--contract-api-key*"]
    )


def _contract_args(url: str) -> list[str]:
    return [
        "--contract-url",
        url,
        "--contract-api-key",
        "demo-alice",
        "--contract-other-key",
        "demo-bob",
        "--contract-readonly-key",
        "demo-readonly",
    ]


def test_conformance_items_pass_against_the_mock(pytester: pytest.Pytester, spawn_mock: Any) -> None:
    mock = spawn_mock()
    result = pytester.runpytest_subprocess(
        *_contract_args(mock.base_url), "-k", "not schemathesis", "-rA", "--junitxml", "junit.xml"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes["passed"] >= 20, result.stdout.str()
    assert "PASSED convo-contracts::runtype::createConversation::boundaries" in result.stdout.str()
    junit = (pytester.path / "junit.xml").read_text()
    assert 'classname="convo-contracts.runtype.createConversation" name="boundaries"' in junit
    assert not any(s in result.stdout.str() + junit for s in SECRETS)


def test_conformance_items_fail_naming_the_check_against_a_broken_server(pytester: pytest.Pytester) -> None:
    fault = next(f for f in FAULTS if f.name == "update_resets_omitted_fields")
    with BackgroundServer(FaultyApp(fault)) as server:
        result = pytester.runpytest_subprocess(
            *_contract_args(server.base_url), "--contract-api", "runtype", "-m", "contract_semantics"
        )
    text = result.stdout.str()
    result.assert_outcomes(passed=4, failed=1)
    assert "FAILED convo-contracts::runtype::updateConversation::semantics" in text
    assert "· semantics · partial_update" in text and "reproduce: curl -X PUT" in text
    assert not any(s in text for s in SECRETS)


def test_conformance_items_error_clearly_when_the_key_is_refused(pytester: pytest.Pytester, spawn_mock: Any) -> None:
    mock = spawn_mock()
    result = pytester.runpytest_subprocess(
        "--contract-url", mock.base_url, "--contract-api-key", "not-a-key", "-m", "contract_auth"
    )
    text = result.stdout.str()
    assert "could not run" in text and "401" in text and "not-a-key" not in text
    assert result.ret == 1
