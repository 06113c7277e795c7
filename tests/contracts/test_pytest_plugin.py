"""The conformance plugin, through pytest's own pytester: conformance items, options, no key
in any output, and independence from the mock's fixture plugin."""

from typing import Any

import pytest

from mockserver.background import BackgroundServer

from .broken import FAULTS, FaultyApp

SECRETS = ("demo-alice", "demo-bob", "demo-readonly")


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


def test_conformance_items_run_with_the_mock_plugin_disabled(pytester: pytest.Pytester, spawn_mock: Any) -> None:
    mock = spawn_mock()
    pytester.makepyfile(test_uses_fixture="def test_needs_mock(convo_mock):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:convo_mock", *_contract_args(mock.base_url), "--contract-api", "systemprompt", "-m", "contract_auth"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and outcomes.get("failed", 0) == 0, result.stdout.str()
    # The fixture is gone with its plugin; the file that asks for it was deselected by -m.
    fixtures = pytester.runpytest_subprocess("-p", "no:convo_mock", "test_uses_fixture.py")
    fixtures.assert_outcomes(errors=1)
    fixtures.stdout.fnmatch_lines(["*fixture 'convo_mock' not found*"])
