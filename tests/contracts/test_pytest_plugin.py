"""The conformance plugin, through pytest's own pytester: conformance items, options, no key
in any output, and independence from the mock's fixture plugin."""

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from corpus.broken import FAULTS, FaultyApp
from corpus.conforming import CHOICES
from mockserver import create_app
from mockserver.background import BackgroundServer

from .hostile_server import HostileServer

ROOT = Path(__file__).resolve().parents[2]
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
        # -l and --tb=long show locals in tracebacks: no key may be among them.
        result = pytester.runpytest_subprocess(
            *_contract_args(server.base_url), "--contract-api", "runtype", "-m", "contract_semantics",
            "-l", "--tb=long", "--junitxml", "junit.xml",
        )  # fmt: skip
    text = result.stdout.str() + result.stderr.str()
    # Four operations pass, one fails, and the leftovers item passes: all it created is gone.
    result.assert_outcomes(passed=5, failed=1)
    assert "FAILED convo-contracts::runtype::updateConversation::semantics" in text
    assert "· semantics · partial_update" in text and "reproduce: curl -X PUT" in text
    assert not any(s in text + (pytester.path / "junit.xml").read_text() for s in SECRETS)


def test_conformance_items_error_clearly_when_the_key_is_refused(pytester: pytest.Pytester, spawn_mock: Any) -> None:
    mock = spawn_mock()
    result = pytester.runpytest_subprocess(
        "--contract-url", mock.base_url, "--contract-api-key", "not-a-key", "-m", "contract_auth"
    )
    text = result.stdout.str()
    assert "could not run" in text and "401" in text and "not-a-key" not in text
    assert result.ret == 1
    # Every selected item fails with it, and the run was tried once: one preflight request.
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 5 and "passed" not in outcomes
    journal = httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"]
    assert len(journal) == 1 and journal[0]["status"] == 401


def _run_tags(mock: Any) -> set[str]:
    """The distinct ownerIds our runs put on what they create: one per run of the suite."""
    journal = httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"]
    owners = [str(e["body"].get("ownerId")) for e in journal if e["method"] == "POST" and isinstance(e["body"], dict)]
    # A run's tag is convo-contracts-<8 hex>; some checks add a suffix (-match, -other).
    return {m.group(0) for o in owners if (m := re.match(r"convo-contracts-[0-9a-f]{8}", o))}


def test_under_xdist_the_suite_runs_once_per_session(pytester: pytest.Pytester, spawn_mock: Any) -> None:
    mock = spawn_mock()
    args = [*_contract_args(mock.base_url), "--contract-api", "runtype", "-m", "contract_semantics", "-n", "2"]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=6)
    assert len(_run_tags(mock)) == 1


def test_items_whose_checks_all_skipped_are_skipped_with_the_reason(pytester: pytest.Pytester, spawn_mock: Any) -> None:
    mock = spawn_mock()
    args = ["--contract-url", mock.base_url, "--contract-api-key", "demo-alice", "--contract-api", "runtype"]
    pytester.runpytest_subprocess(*args, "--contract-read-only", "-m", "contract_auth", "--junitxml", "junit.xml")
    root = ElementTree.parse(pytester.path / "junit.xml").getroot()
    cases = {c.get("classname", "").split(".")[-1]: c for c in root.iter("testcase") if c.get("name") == "auth"}
    skipped = {op: c.find("skipped") for op, c in cases.items()}
    reasons = {op: s.get("message", "") for op, s in skipped.items() if s is not None}
    # Writes are never sent under --contract-read-only; reads ran their checks and passed.
    assert set(reasons) == {"createConversation", "updateConversation", "deleteConversation"}
    assert all("--contract-read-only" in r for r in reasons.values()), reasons
    assert all(cases[op].find("failure") is None for op in ("listConversations", "getConversation"))


def test_a_bad_setting_is_a_usage_error_before_any_request(pytester: pytest.Pytester, spawn_mock: Any) -> None:
    mock = spawn_mock()
    result = pytester.runpytest_subprocess(*_contract_args(mock.base_url), "--contract-timeout", "nan")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--contract-timeout (env CONVO_TIMEOUT) must be a finite number" in result.stderr.str()
    assert httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"] == []


class _DeleteFails:
    """The real mock, except that every Runtype delete answers 500: what a run creates stays."""

    def __init__(self) -> None:
        self.app = create_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "DELETE":
            await send(
                {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": b'{"error": "internal", "message": "boom"}'})
            return
        await self.app(scope, receive, send)


def test_what_the_run_could_not_delete_fails_a_visible_item(pytester: pytest.Pytester) -> None:
    with BackgroundServer(_DeleteFails()) as server:
        args = [*_contract_args(server.base_url), "--contract-api", "runtype", "-m", "contract_auth", "-rA"]
        result = pytester.runpytest_subprocess(*args, "--junitxml", "junit.xml")
    root = ElementTree.parse(pytester.path / "junit.xml").getroot()
    (leftovers,) = [c for c in root.iter("testcase") if c.get("name") == "leftovers"]
    failure = leftovers.find("failure")
    assert failure is not None and "could not delete what it created" in (failure.text or failure.get("message") or "")
    assert "delete answered 500" in (failure.text or "")
    assert not any(s in result.stdout.str() for s in SECRETS)


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


def test_observations_are_shown_and_fail_items_only_under_contract_strict(pytester: pytest.Pytester) -> None:
    choice = next(c for c in CHOICES if c.name == "problem_json")
    with BackgroundServer(choice.app()) as server:
        args = ["--contract-url", server.base_url, "--contract-api-key", "demo-alice", "--contract-api", "runtype"]
        lenient = pytester.runpytest_subprocess(*args, "-m", "contract_auth", "-rA")
        strict = pytester.runpytest_subprocess(*args, "-m", "contract_auth", "--contract-strict")
    assert lenient.ret == 0 and "observations" in lenient.stdout.str()
    assert strict.ret == 1 and strict.parseoutcomes()["failed"] >= 1


def test_a_hostile_servers_text_and_its_echoed_key_reach_pytests_output_inert(pytester: pytest.Pytester) -> None:
    with BackgroundServer(HostileServer()) as server:
        args = ["--contract-url", server.base_url, "--contract-api-key", "demo-alice", "--contract-api", "runtype"]
        result = pytester.runpytest_subprocess(*args, "-m", "contract_semantics", "-rA")
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == 1 and "FAILED convo-contracts::leftovers" in text  # the key-as-id was left over
    assert "\\x1b]0;EVIL title\\x07" in text  # the server's text is shown, escaped
    assert re.findall("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text) == []
    assert "demo-alice" not in text
