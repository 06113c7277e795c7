"""pytest plugin (registered through the `pytest11` entry point; no conftest needed).

1. Fixtures for testing client code against the mock: `convo_mock` (a real uvicorn server on
   a free 127.0.0.1 port, one per session and per xdist worker, reset before each test).
   `@pytest.mark.convo_mock(api=..., empty=..., latency_ms=..., error_rate=..., code=...)`
   sets a test's starting data and chaos.
2. The conformance suite as test items: `pytest --contract-url URL --contract-api-key KEY`
   collects one item per API × operation × family, run by the same runner as the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import specs

from . import report
from .coverage_reports import ReportPaths, console_block, coverage_of, gate, write_reports
from .results import RunResult, Status
from .runner import FAMILIES, CannotRun, run
from .target import Target, auth_headers

GROUP = "convo-contracts"
_SETTINGS = {
    # option name: (ini name, environment variable, help)
    "contract_url": ("convo_contract_url", "CONVO_BASE_URL", "base URL of the deployment to check"),
    "contract_api_key": ("convo_contract_api_key", "CONVO_API_KEY", "API key to check with"),
    "contract_other_key": ("convo_contract_other_key", "CONVO_OTHER_KEY", "a key of another tenant (isolation checks)"),
    "contract_readonly_key": ("convo_contract_readonly_key", "CONVO_READONLY_KEY", "a read-only key (403 checks)"),
    "contract_api": ("convo_contract_api", "CONVO_API", "runtype, systemprompt or all (default all)"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "convo-contracts: conformance suite and mock server")
    for name, (ini, env, help_text) in _SETTINGS.items():
        group.addoption(
            f"--{name.replace('_', '-')}", dest=name, default=None, help=f"{help_text} (ini {ini}, env {env})"
        )
        parser.addini(ini, help_text, default=None)
    group.addoption(
        "--contract-max-examples", type=int, default=None, help="Schemathesis examples per operation (default 25)"
    )
    group.addoption("--contract-seed", type=int, default=0, help="Schemathesis seed (default 0)")
    group.addoption(
        "--contract-read-only", action="store_true", default=False, help="only checks that cannot change data"
    )
    group.addoption("--contract-html", default=None, metavar="PATH", help="write the run's HTML report to PATH")
    group.addoption(
        "--contract-fail-under",
        type=float,
        default=None,
        metavar="PCT",
        help="fail the session when overall spec coverage is below PCT percent",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Under xdist each worker runs the suite on its share of the items: coverage would be
    # partial and every worker would write the same file. Say so rather than gate on a part.
    reports = config.getoption("contract_html", None) or config.getoption("contract_fail_under", None) is not None
    if reports and getattr(config.option, "numprocesses", None):
        raise pytest.UsageError("--contract-html and --contract-fail-under need a single process: drop -n")
    config.addinivalue_line(
        "markers",
        "convo_mock(api='runtype'|'systemprompt', empty=False, latency_ms=0, error_rate=0, code=None, "
        "random_seed=None): starting data and chaos for the convo_mock fixture",
    )
    config.addinivalue_line("markers", "contract: a conformance-suite item (also contract_<family>)")
    for family in FAMILIES:
        config.addinivalue_line("markers", f"contract_{family}: conformance items of the {family} family")


def _setting(config: pytest.Config, name: str) -> str | None:
    ini, env, _ = _SETTINGS[name]
    value = config.getoption(name) or config.getini(ini) or os.environ.get(env)
    return str(value) if value else None


# --- the mock as fixtures ---------------------------------------------------------------


@dataclass
class ConvoMock:
    """The running mock, as a test sees it."""

    base_url: str
    api_key: str = "demo-alice"
    other_key: str = "demo-bob"
    readonly_key: str = "demo-readonly"
    api: str = "runtype"
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url, timeout=10)

    def headers(self, key: str | None = None, api: str | None = None) -> dict[str, str]:
        """The auth headers of `api` (default: this test's API) for `key` (default: api_key)."""
        return auth_headers(api or self.api, key or self.api_key)

    def reset(self) -> None:
        self._http.post("/__mock__/reset").raise_for_status()

    def seed(self, data: dict[str, Any]) -> None:
        """Replace all data (the seed file format); raises on data the spec forbids."""
        response = self._http.put("/__mock__/state", json=data)
        if response.status_code != 200:
            raise ValueError(response.json()["message"])

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = self._http.get("/__mock__/state").json()
        return data

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The journal: what the client under test sent (keys redacted), oldest first."""
        entries: list[dict[str, Any]] = self._http.get("/__mock__/requests").json()["requests"]
        return entries

    def clear_requests(self) -> None:
        self._http.delete("/__mock__/requests").raise_for_status()

    def chaos(
        self, *, latency_ms: int = 0, error_rate: float = 0.0, code: int | None = None, random_seed: int | None = None
    ) -> None:
        """Force a status on every request (where the operation documents it), add latency or errors."""
        settings = {"latency_ms": latency_ms, "error_rate": error_rate, "code": code, "random_seed": random_seed}
        response = self._http.put("/__mock__/chaos", json=settings)
        if response.status_code != 200:
            raise ValueError(response.json()["message"])

    def close(self) -> None:
        self._http.close()


@pytest.fixture(scope="session")
def _convo_mock_server() -> Iterator[str]:
    # Imported here: collecting conformance items alone need not load the mock.
    from mockserver import create_app
    from mockserver.background import BackgroundServer

    server = BackgroundServer(create_app()).start()
    yield server.base_url
    server.stop()


@pytest.fixture
def convo_mock(request: pytest.FixtureRequest, _convo_mock_server: str) -> Iterator[ConvoMock]:
    """The mock server: demo data, no chaos, empty journal at the start of every test."""
    marker = request.node.get_closest_marker("convo_mock")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    unknown = set(options) - {"api", "empty", "latency_ms", "error_rate", "code", "random_seed"}
    if unknown:
        raise pytest.UsageError(f"convo_mock marker: unknown option(s) {', '.join(sorted(unknown))}")
    api = options.pop("api", "runtype")
    if api not in specs.API_NAMES:
        raise pytest.UsageError(f"convo_mock marker: api must be one of {', '.join(specs.API_NAMES)}")
    mock = ConvoMock(_convo_mock_server, api=api)
    mock.reset()
    if options.pop("empty", False):
        mock.seed({"tenants": {}})
    mock.chaos(**options)
    mock.clear_requests()
    yield mock
    mock.chaos()
    mock.close()


# --- the conformance suite as test items ------------------------------------------------


class ContractSuite(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        config = self.config
        choice = _setting(config, "contract_api") or "all"
        if choice not in (*specs.API_NAMES, "all"):
            raise pytest.UsageError(f"--contract-api must be runtype, systemprompt or all, not {choice!r}")
        items: list[pytest.Item] = []
        for api in specs.API_NAMES if choice == "all" else (choice,):
            for op in specs.load(api).operations:
                for family in FAMILIES:
                    item = ContractItem.from_parent(
                        self,
                        name=f"{api}::{op.operation_id}::{family}",
                        api=api,
                        operation_id=op.operation_id,
                        family=family,
                    )
                    item.add_marker("contract")
                    item.add_marker(f"contract_{family}")
                    items.append(item)
        return items


class ContractItem(pytest.Item):
    def __init__(self, *, api: str, operation_id: str, family: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api, self.operation_id, self.family = api, operation_id, family

    def runtest(self) -> None:
        result = _shared_run(self)
        mine = [
            o
            for o in result.outcomes
            if (o.api, o.operation_id, o.family) == (self.api, self.operation_id, self.family)
        ]
        failed = [o for o in mine if o.status is Status.FAILED]
        if failed:
            raise ContractFailure(report.failures(RunResult(outcomes=failed)).strip())
        if not mine or all(o.status is Status.SKIPPED for o in mine):
            notes = sorted({o.note for o in mine if o.note}) or ["no check of this family applies to this operation"]
            pytest.skip("; ".join(notes))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (ContractFailure, CannotRunItem)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int, str]:
        return ("convo-contracts", 0, f"{self.api} {self.operation_id} · {self.family}")


class ContractFailure(AssertionError):
    pass


class CannotRunItem(RuntimeError):
    pass


_RUN_KEY = pytest.StashKey[Any]()
_RUN_OF_KEY = pytest.StashKey[tuple[Target, list[str], list[str]]]()
_COVERAGE_KEY = pytest.StashKey[tuple[str, str | None]]()


def _shared_run(item: ContractItem) -> RunResult:
    """Run the selected families once per session (only those of the selected items)."""
    stash = item.session.stash
    if _RUN_KEY not in stash:
        config = item.config
        selected = [i for i in item.session.items if isinstance(i, ContractItem)]
        apis = sorted({i.api for i in selected}, key=specs.API_NAMES.index)
        families = [f for f in FAMILIES if any(i.family == f for i in selected)]
        target = Target(
            base_url=str(_setting(config, "contract_url")).rstrip("/"),
            api_key=str(_setting(config, "contract_api_key")),
            other_key=_setting(config, "contract_other_key"),
            readonly_key=_setting(config, "contract_readonly_key"),
            read_only=bool(config.getoption("contract_read_only")),
            max_examples=config.getoption("contract_max_examples") or 25,
            seed=config.getoption("contract_seed"),
        )
        stash[_RUN_OF_KEY] = (target, apis, families)
        try:
            stash[_RUN_KEY] = run(target, apis, families)
        except CannotRun as exc:
            stash[_RUN_KEY] = CannotRunItem(target.redactor(f"convo-contracts could not run: {exc}"))
    found = stash[_RUN_KEY]
    if isinstance(found, CannotRunItem):
        raise found
    assert isinstance(found, RunResult)
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the items must exist before -k and -m deselect among them.
    if not _setting(config, "contract_url"):
        return
    if not _setting(config, "contract_api_key"):
        raise pytest.UsageError(
            "--contract-url needs --contract-api-key (or ini convo_contract_api_key, env CONVO_API_KEY)"
        )
    suite = ContractSuite.from_parent(session, name="convo-contracts", nodeid="convo-contracts")
    items.extend(suite.collect())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Coverage of the contract run, its HTML report and the --contract-fail-under gate."""
    found = session.stash.get(_RUN_KEY, None)
    if not isinstance(found, RunResult):
        return
    config = session.config
    target, apis, families = session.stash[_RUN_OF_KEY]
    coverage = coverage_of(found, target, apis, families)
    html = config.getoption("contract_html")
    write_reports(found, coverage, target, families, ReportPaths(html=Path(html) if html else None), {})
    message = gate(coverage, config.getoption("contract_fail_under"))
    if message and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    config.stash[_COVERAGE_KEY] = (target.redactor(console_block(coverage)), target.redactor(message or "") or None)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    found = config.stash.get(_COVERAGE_KEY, None)
    if found is None:
        return
    block, message = found
    terminalreporter.section("convo-contracts coverage")
    for line in block.splitlines():
        terminalreporter.write_line(line)
    if message:
        for line in message.splitlines():
            terminalreporter.write_line(line, red=True)
