"""The `convo_mock` fixture plugin, through pytest's own pytester: client tests against the
real mock, per-test reset, markers, xdist, README's example, and independence from the
conformance plugin."""

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

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

# Errors and in-process resets: what the HTTP-based fixture did, the in-process one must too.
EDGE_TESTS = """
import httpx
import pytest


def test_bad_seed_raises_and_changes_nothing(convo_mock):
    before = convo_mock.state()
    with pytest.raises(ValueError):
        convo_mock.seed({"tenants": {"demo-alice": {"runtype": [{"id": 5}]}}})
    assert convo_mock.state() == before


def test_bad_chaos_raises(convo_mock):
    with pytest.raises(ValueError):
        convo_mock.chaos(error_rate=2.0)


def test_chaos_set_in_a_test_applies_then_is_undone(convo_mock):
    convo_mock.chaos(code=500)
    assert httpx.get(convo_mock.base_url + "/v1/conversations", headers=convo_mock.headers()).status_code == 500


def test_previous_chaos_is_gone_and_reset_restores_the_demo_data(convo_mock):
    url = convo_mock.base_url + "/v1/conversations/conv_demo1_1"
    assert httpx.delete(url, headers=convo_mock.headers()).is_success
    assert httpx.get(url, headers=convo_mock.headers()).status_code == 404
    convo_mock.reset()
    assert httpx.get(url, headers=convo_mock.headers()).status_code == 200
    convo_mock.clear_requests()
    assert convo_mock.requests == []


@pytest.mark.convo_mock(colour="red")
def test_unknown_marker_option(convo_mock):
    pass
"""


# Journal queries and faults from a client test's point of view.
JOURNAL_AND_FAULT_TESTS = """
import httpx
import pytest


@pytest.mark.convo_mock(faults=[{"status": 503, "operation": "createConversation", "times": 2, "retry_after": 4}])
def test_marker_faults_then_recovery(convo_mock):
    with httpx.Client(base_url=convo_mock.base_url, headers=convo_mock.headers()) as client:
        assert client.get("/v1/conversations").status_code == 200
        codes = [client.post("/v1/conversations", json={}).status_code for _ in range(3)]
    assert codes == [503, 503, 201]
    first = convo_mock.calls(operation="createConversation")[0]
    assert first.status == 503 and first.response_headers["retry-after"] == "4"
    assert first.response_headers["x-mock-forced"] == "pytest-marker"
    assert "pytest marker" in first.response_body["message"]


@pytest.mark.convo_mock(code=429)
def test_marker_gateway_status(convo_mock):
    response = httpx.get(convo_mock.base_url + "/v1/conversations", headers=convo_mock.headers())
    assert response.status_code == 429 and response.headers["retry-after"] == "1"


def test_calls_are_typed_and_filtered(convo_mock):
    with httpx.Client(base_url=convo_mock.base_url) as client:
        client.post("/v1/conversations", json={"title": "t"}, headers=convo_mock.headers())
        client.get("/v1/conversations/conv_missing", headers=convo_mock.headers())
        client.get("/v1/conversations", headers=convo_mock.headers(convo_mock.other_key))
    assert [c.operation for c in convo_mock.calls(method="post")] == ["createConversation"]
    assert convo_mock.calls(method="POST")[0].body == {"title": "t"}
    assert [c.status for c in convo_mock.calls(status="4xx")] == [404]
    assert [c.path for c in convo_mock.calls(tenant=convo_mock.other_key)] == ["/v1/conversations"]
    assert len(convo_mock.assert_called(operation="getConversation", status=404, times=1)) == 1


def test_assert_called_lists_what_was_called_instead(convo_mock):
    httpx.get(convo_mock.base_url + "/v1/conversations", headers=convo_mock.headers())
    with pytest.raises(AssertionError) as failure:
        convo_mock.assert_called(operation="deleteConversation")
    message = str(failure.value)
    assert "operation='deleteConversation'" in message and "found 0" in message
    assert "GET /v1/conversations -> 200 (listConversations)" in message


def test_fixture_chaos_with_a_reset_fault(convo_mock):
    convo_mock.chaos(faults=[{"fault": "reset", "times": 1}])
    url = convo_mock.base_url + "/v1/conversations"
    with pytest.raises(httpx.TransportError):
        httpx.get(url, headers=convo_mock.headers())
    assert httpx.get(url, headers=convo_mock.headers()).status_code == 200
    assert [c.fault for c in convo_mock.calls()] == ["fault=reset by pytest-fixture", None]


@pytest.mark.convo_mock(faults=[{"status": 418}])
def test_a_status_nobody_documents_is_a_usage_error(convo_mock):
    pass
"""


def test_journal_queries_and_faults_in_client_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_faults=JOURNAL_AND_FAULT_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly")
    result.assert_outcomes(passed=5, errors=1)
    result.stdout.fnmatch_lines(["*convo_mock marker: faults[[]0[]]: status 418 is neither documented*"])


def test_client_test_suite_using_convo_mock_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_client=CLIENT_TESTS)
    result = pytester.runpytest_subprocess("-q", "--strict-markers")
    result.assert_outcomes(passed=6)
    assert not any(s in result.stdout.str() for s in SECRETS)


def test_in_process_resets_and_errors_behave_as_documented(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_edges=EDGE_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*convo_mock marker: unknown option(s) colour*"])


def test_a_bad_marker_option_is_one_line_without_a_traceback(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_edges=EDGE_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly", "--junitxml", "report.xml")
    result.assert_outcomes(passed=4, errors=1)
    tree = ElementTree.parse(pytester.path / "report.xml")
    (case,) = [c for c in tree.iter("testcase") if c.get("name") == "test_unknown_marker_option"]
    (error,) = case.findall("error")
    # What pytest keeps of the failure is the message alone: no frame of the plugin's code.
    assert (error.text or "").strip() == "convo_mock marker: unknown option(s) colour"


def test_works_under_xdist_with_two_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_client=CLIENT_TESTS)
    result = pytester.runpytest_subprocess("-q", "-n", "2")
    result.assert_outcomes(passed=6)


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start: your pytest suite", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    return code.group(1)


def test_readme_example_runs_as_written(pytester: pytest.Pytester) -> None:
    example = _readme_example()
    assert len(example.strip().splitlines()) <= 15
    pytester.makepyfile(test_readme=example)
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=2)


def test_fixtures_work_with_the_conformance_plugin_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_readme=_readme_example(),
        test_isolated="import sys\n\ndef test_suite_not_loaded():\n    assert 'contracts' not in sys.modules\n",
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:convo_contracts", "--strict-markers")
    result.assert_outcomes(passed=3)
    # Its options went with it.
    refused = pytester.runpytest_subprocess("-p", "no:convo_contracts", "--contract-url", "http://127.0.0.1:1")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR


HEAVY = ("starlette", "uvicorn", "httpx", "openapi_core", "jsonschema_rs", "orjson", "yaml", "specs", "fcntl")


def test_loading_the_plugin_costs_no_heavy_import() -> None:
    """pytest loads the plugin in every run where the package is installed: it brings in
    neither the mock's stack nor the specs (and no POSIX-only module)."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "sys.modules['fcntl'] = None  # as on Windows: importing it would fail\n"
        "before = set(sys.modules)\n"
        "import mockserver.pytest_plugin\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []
    assert [name for name in loaded if name.startswith("mockserver")] == ["mockserver", "mockserver.pytest_plugin"]
