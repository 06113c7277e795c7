"""pytest plugin `convo_contracts` (registered through the `pytest11` entry point; no
conftest needed): the conformance suite as test items. `pytest --contract-url URL
--contract-api-key KEY` collects one item per API × operation × family, run by the same
runner as the CLI. The mock's fixtures are the separate plugin `mockserver.pytest_plugin`.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

import specs

from . import report
from .results import RunResult, Status
from .runner import FAMILIES, CannotRun, run
from .target import Target

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract: a conformance-suite item (also contract_<family>)")
    for family in FAMILIES:
        config.addinivalue_line("markers", f"contract_{family}: conformance items of the {family} family")


def _setting(config: pytest.Config, name: str) -> str | None:
    ini, env, _ = _SETTINGS[name]
    value = config.getoption(name) or config.getini(ini) or os.environ.get(env)
    return str(value) if value else None


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
