"""The conformance items are collected like any test (the header counts them, `--collect-only`
lists them, -k / -m select among them), and a wrong use of the suite's markers is one clear
usage error, through pytest's own result objects."""

from __future__ import annotations

import pytest

import specs
from contracts.pytest_plugin import MARKERS, _check_mark_expression
from contracts.settings import FAMILIES

# Collection sends no request: a URL nothing listens on is enough.
ARGS = ("--contract-url", "http://127.0.0.1:9", "--contract-api-key", "k", "-p", "no:randomly")


def _expected_ids(apis: tuple[str, ...]) -> list[str]:
    ids = [
        f"convo-contracts::{api}::{op.operation_id}::{family}"
        for api in apis
        for op in specs.load(api).operations
        for family in FAMILIES
    ]
    return [*ids, "convo-contracts::leftovers"]


def _collected(reprec: pytest.HookRecorder) -> list[str]:
    """What the terminal's "collected N items" counts: the items in the collect reports."""
    reports = reprec.getreports("pytest_collectreport")
    return [node.nodeid for r in reports for node in r.result if isinstance(node, pytest.Item)]


def test_collect_only_lists_every_conformance_item(pytester: pytest.Pytester) -> None:
    items, reprec = pytester.inline_genitems(*ARGS)
    expected = _expected_ids(tuple(specs.API_NAMES))
    assert [i.nodeid for i in items] == expected
    assert _collected(reprec) == expected
    finished = reprec.getcall("pytest_collection_finish")
    assert [i.nodeid for i in finished.session.items] == expected


def test_the_header_count_includes_them_beside_the_projects_own_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_mine():\n    pass\n")
    items, reprec = pytester.inline_genitems(*ARGS, "--contract-api", "runtype")
    expected = ["test_own.py::test_mine", *_expected_ids(("runtype",))]
    assert sorted(_collected(reprec)) == sorted(expected)
    assert sorted(i.nodeid for i in items) == sorted(expected)


def test_m_and_k_select_among_the_collected_items(pytester: pytest.Pytester) -> None:
    reprec = pytester.inline_run(*ARGS, "--contract-api", "runtype", "--collect-only", "-m", "contract_auth")
    selected = reprec.getcall("pytest_collection_finish").session.items
    assert {i.nodeid for i in selected} == {
        *(i for i in _expected_ids(("runtype",)) if i.endswith("::auth")),
        "convo-contracts::leftovers",
    }
    deselected = [i for call in reprec.getcalls("pytest_deselected") for i in call.items]
    assert len(deselected) + len(selected) == len(_expected_ids(("runtype",)))


def test_without_a_url_nothing_is_added(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_mine():\n    pass\n")
    items, _ = pytester.inline_genitems("-p", "no:randomly")
    assert [i.nodeid for i in items] == ["test_own.py::test_mine"]


def _one_line_usage_error(result: pytest.RunResult) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1, result.stderr.lines
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    return lines[0]


def test_a_suite_marker_with_arguments_is_one_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked='import pytest\n\n@pytest.mark.contract_auth(families="nope")\ndef test_x():\n    pass\n'
    )
    line = _one_line_usage_error(pytester.runpytest_subprocess())
    assert line.startswith("ERROR: convo-contracts: test_marked.py::test_x: @pytest.mark.contract_auth(")
    assert "families='nope'" in line and "take no arguments" in line


def test_a_mark_expression_naming_no_family_is_one_usage_error(pytester: pytest.Pytester) -> None:
    line = _one_line_usage_error(pytester.runpytest_subprocess(*ARGS, "-m", "contract_auht and not slow"))
    assert line.startswith("ERROR: convo-contracts: -m names contract_auht")
    assert all(f"contract_{f}" in line for f in FAMILIES)


def test_mark_expressions_of_real_markers_pass() -> None:
    for marker in MARKERS:
        _check_mark_expression(f"{marker} and not slow")
    with pytest.raises(pytest.UsageError, match="contract_nope, contract_x"):
        _check_mark_expression("contract_x or contract_nope or contract")


def test_a_bad_setting_is_a_usage_error_at_collection(pytester: pytest.Pytester) -> None:
    line = _one_line_usage_error(
        pytester.runpytest_subprocess("--contract-url", "ftp://example.com", "--contract-api-key", "k", "--co")
    )
    assert line.startswith("ERROR: convo-contracts: --contract-url (env CONVO_BASE_URL) must be an http(s) URL")
