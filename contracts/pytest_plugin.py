"""pytest plugin `convo_contracts` (registered through the `pytest11` entry point; no
conftest needed): the conformance suite as test items. `pytest --contract-url URL
--contract-api-key KEY` collects one item per API × operation × family, run by the same
runner as the CLI. The mock's fixtures are the separate plugin `mockserver.pytest_plugin`.

Loaded at every pytest start wherever the package is installed, so it costs nothing until
used: at load it imports the settings table only (no HTTP client, Schemathesis,
openapi-core, spec file or POSIX-only module); the runner, the reports and the specs are
imported when a contract item needs them.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import specs
from specs.text import printable

from .settings import BY_NAME, FAMILIES, SETTINGS, RunSettings, SettingError, resolve

if TYPE_CHECKING:
    from .results import RunResult

GROUP = "convo-contracts"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "convo-contracts: conformance suite and mock server")
    # The same table as the CLI's options (contracts/settings.py): one definition per setting.
    for setting in SETTINGS:
        if not setting.pytest:
            continue
        help_text = f"{setting.help} (ini {setting.ini}, env {setting.env})"
        if setting.flag:
            group.addoption(
                setting.pytest_option, dest=setting.pytest_dest, action="store_const", const=True, help=help_text
            )
        else:
            group.addoption(
                setting.pytest_option, dest=setting.pytest_dest, default=None, metavar=setting.metavar, help=help_text
            )
        parser.addini(setting.ini, setting.help, default=None)


def pytest_configure(config: pytest.Config) -> None:
    # Under xdist each worker sees its share of the items: every worker would write the same
    # report and gate on a part of the coverage. Say so rather than gate on a part.
    reports = config.getoption(BY_NAME["html"].pytest_dest) or config.getoption(BY_NAME["fail_under"].pytest_dest)
    if reports and getattr(config.option, "numprocesses", None):
        raise pytest.UsageError(
            f"{BY_NAME['html'].pytest_option} and {BY_NAME['fail_under'].pytest_option} need a single process: drop -n"
        )
    for marker in MARKERS:
        config.addinivalue_line("markers", f"{marker}: {MARKERS[marker]}")
    _check_mark_expression(config.getoption("markexpr", "") or "")


# The suite's markers, set on its own items to select them with -m; they take no arguments.
MARKERS = {
    "contract": "a conformance-suite item (also contract_<family>); takes no arguments",
    **{f"contract_{f}": f"conformance items of the {f} family; takes no arguments" for f in FAMILIES},
}
_MARKER_WORD = re.compile(r"\bcontract_\w+")


def _check_mark_expression(expression: str) -> None:
    """`-m contract_auht` would select nothing and say nothing: name the family instead."""
    unknown = sorted({m for m in _MARKER_WORD.findall(expression) if m not in MARKERS})
    if unknown:
        families = ", ".join(f"contract_{f}" for f in FAMILIES)
        raise pytest.UsageError(
            printable(f"convo-contracts: -m names {', '.join(unknown)}, which is no family's marker; use {families}")
        )


def _check_marker_arguments(items: list[pytest.Item]) -> None:
    """A suite marker with arguments on a test (`@pytest.mark.contract_auth(api="x")`) would be
    silently ignored: refuse it, naming the test."""
    for item in items:
        for mark in item.iter_markers():
            if mark.name in MARKERS and (mark.args or mark.kwargs):
                given = ", ".join([*map(repr, mark.args), *(f"{k}={v!r}" for k, v in mark.kwargs.items())])
                raise pytest.UsageError(
                    printable(
                        f"convo-contracts: {item.nodeid}: @pytest.mark.{mark.name}({given}): the suite's markers "
                        "take no arguments; choose what runs with -m and the --contract-* options"
                    )
                )


# --- the conformance suite as test items ------------------------------------------------
# The run itself happens once per session, in whichever process first needs it; under xdist
# the controller hands every worker one shared directory, and a file lock there makes the
# first worker run the suite while the others wait and read its result.

_SHARED_DIR = "convo_contracts_dir"
RESULT_FILE = "result.pickle"
_SHARED_DIR_KEY = pytest.StashKey[str]()
_RUN_KEY = pytest.StashKey[Any]()


def _raw_settings(config: pytest.Config) -> dict[str, Any]:
    """Option over ini over environment, by setting name (the values `settings.resolve` takes)."""
    raw: dict[str, Any] = {}
    for setting in SETTINGS:
        if not setting.pytest:
            continue
        value = config.getoption(setting.pytest_dest) or config.getini(setting.ini) or os.environ.get(setting.env)
        if value not in (None, ""):
            raw[setting.name] = value
    return raw


def _wanted(config: pytest.Config) -> bool:
    raw = _raw_settings(config)
    return "base_url" in raw or any(f"{api}_url" in raw for api in specs.API_NAMES)


def _resolve(config: pytest.Config) -> RunSettings:
    try:
        return resolve(_raw_settings(config), pytest=True)
    except SettingError as exc:
        raise pytest.UsageError(printable(f"convo-contracts: {exc}")) from None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker gets the same directory to share one run through."""
    config = node.config
    if _wanted(config):
        if _SHARED_DIR_KEY not in config.stash:
            config.stash[_SHARED_DIR_KEY] = tempfile.mkdtemp(prefix="convo-contracts-run-")
        node.workerinput[_SHARED_DIR] = config.stash[_SHARED_DIR_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SHARED_DIR_KEY in config.stash:
        shutil.rmtree(config.stash[_SHARED_DIR_KEY], ignore_errors=True)


class ContractSuite(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        settings = _resolve(self.config)
        items: list[pytest.Item] = []
        for api in settings.apis:
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
        leftovers = LeftoversItem.from_parent(self, name="leftovers")
        # Kept by any family selection (-m contract_auth): what a run leaves behind must show.
        for marker in ("contract", *(f"contract_{f}" for f in FAMILIES)):
            leftovers.add_marker(marker)
        items.append(leftovers)
        return items


class _SuiteItem(pytest.Item):
    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (ContractFailure, CannotRunItem)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class ContractItem(_SuiteItem):
    def __init__(self, *, api: str, operation_id: str, family: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api, self.operation_id, self.family = api, operation_id, family

    def runtest(self) -> None:
        from .reports import console as report
        from .results import RunResult, Status

        result = _shared_run(self)
        redact = _resolve(self.config).first.redactor
        mine = [
            o
            for o in result.outcomes
            if (o.api, o.operation_id, o.family) == (self.api, self.operation_id, self.family)
        ]
        failed = [o for o in mine if o.status is Status.FAILED]
        observed = RunResult(outcomes=[o for o in mine if o.observations])
        if observed.outcomes:
            # Shown with -rA and in --junitxml's system-out; a verdict only under --contract-strict.
            self.add_report_section("call", "observations", report.observations(observed, redact).strip())
        if failed or (result.strict and observed.outcomes):
            text = report.failures(RunResult(outcomes=failed), redact) + "\n" + report.observations(observed, redact)
            raise ContractFailure(text.strip())
        if not mine or all(o.status is Status.SKIPPED for o in mine):
            notes = sorted({o.note for o in mine if o.note}) or [self._why_nothing_ran()]
            pytest.skip(report.for_terminal("; ".join(notes), redact).replace("\n", " "))

    def _why_nothing_ran(self) -> str:
        op = specs.load(self.api).operation(self.operation_id)
        if op.method not in ("GET", "HEAD") and _resolve(self.config).targets[self.api].read_only:
            return "--contract-read-only: no request that could change data is sent"
        return "no check of this family applies to this operation"

    def reportinfo(self) -> tuple[str, int, str]:
        return ("convo-contracts", 0, f"{self.api} {self.operation_id} · {self.family}")


class LeftoversItem(_SuiteItem):
    """Fails when the run could not delete what it created: a visible item, not a footnote."""

    def runtest(self) -> None:
        from .reports import console as report

        result = _shared_run(self)
        if result.leftovers:
            listed = report.leftovers(result, _resolve(self.config).first.redactor)
            raise ContractFailure(f"the run could not delete what it created:\n{listed}")

    def reportinfo(self) -> tuple[str, int, str]:
        return ("convo-contracts", 0, "what the run created was deleted")


class ContractFailure(AssertionError):
    pass


class CannotRunItem(RuntimeError):
    pass


def _shared_run(item: pytest.Item) -> RunResult:
    """The run's result, computed once per session (across xdist workers too); a run that
    could not run raises the same CannotRunItem in every item without running again."""
    stash = item.session.stash
    if _RUN_KEY not in stash:
        shared = getattr(item.config, "workerinput", {}).get(_SHARED_DIR)
        stash[_RUN_KEY] = _run_once_across_workers(item, Path(shared)) if shared else _run_here(item)
    found: RunResult | CannotRunItem = stash[_RUN_KEY]
    if isinstance(found, CannotRunItem):
        raise found
    return found


def _run_once_across_workers(item: pytest.Item, shared: Path) -> RunResult | CannotRunItem:
    import pickle

    try:
        import fcntl  # POSIX only: imported here, so the plugin itself loads everywhere
    except ImportError:
        return CannotRunItem(
            "convo-contracts: sharing one run between xdist workers needs a POSIX file lock (fcntl); "
            "run the contract items without -n on this platform"
        )
    with (shared / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed; the others wait here for the first
        done = shared / RESULT_FILE
        if done.exists():
            found: RunResult | CannotRunItem = pickle.loads(done.read_bytes())
            return found
        found = _run_here(item)
        partial = shared / f"{RESULT_FILE}.part"
        partial.write_bytes(pickle.dumps(found))
        partial.replace(done)
        return found


def _run_here(item: pytest.Item) -> RunResult | CannotRunItem:
    """Run the families of the selected items, for the APIs of the selected items."""
    from .errors import CannotRun
    from .reports.console import for_terminal
    from .results import RunResult
    from .runner import run

    settings = _resolve(item.config)
    selected = [i for i in item.session.items if isinstance(i, ContractItem)]
    apis = [api for api in settings.apis if any(i.api == api for i in selected)]
    families = [f for f in settings.families if any(i.family == f for i in selected)]
    redact = settings.first.redactor
    result = RunResult()
    if not apis or not families:
        return result
    try:
        return run(settings.targets, apis, families, result=result)
    except CannotRun as exc:
        why = f"convo-contracts could not run: {exc}"
    except Exception as exc:  # the suite's own bug: one clear error per item, no key, no traceback
        why = f"convo-contracts could not run (internal error): {type(exc).__name__}: {exc}"
    return CannotRunItem(for_terminal(why, redact).replace("\n", " "))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: before -m deselects the test that carries the bad marker.
    _check_marker_arguments(items)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """The suite is one more collector under the session, beside the directories: pytest
    collects its items like any others, so the header counts them, `--collect-only` lists
    them, and -k / -m select among them."""
    report = yield
    if isinstance(collector, pytest.Session) and report.passed and _wanted(collector.config):
        _resolve(collector.config)  # a bad setting is a usage error now, before any item exists
        report.result.append(ContractSuite.from_parent(collector, name="convo-contracts", nodeid="convo-contracts"))
    return report


_FINISHED_KEY = pytest.StashKey[tuple[str, str | None]]()


def _finished_run(session: pytest.Session) -> RunResult | None:
    """The session's run, in the one process that reports it: the only process, or the
    xdist controller (which reads the workers' shared result); None in a worker, or when
    the run did not complete."""
    import pickle

    from .results import RunResult

    config = session.config
    if hasattr(config, "workerinput"):
        return None  # the controller reports: once, not once per worker
    found = session.stash.get(_RUN_KEY, None)
    if found is None and _SHARED_DIR_KEY in config.stash:
        done = Path(config.stash[_SHARED_DIR_KEY]) / RESULT_FILE
        found = pickle.loads(done.read_bytes()) if done.exists() else None
    return found if isinstance(found, RunResult) else None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Coverage of the contract run, every report file (the one writer, as the CLI's) and
    the fail-under gate."""
    found = _finished_run(session)
    if found is None:
        return
    from .reports import console as report
    from .reports.coverage_reports import console_block
    from .reports.writer import ReportNotWritten, finish

    settings = _resolve(session.config)
    redact = settings.first.redactor
    try:
        finished = finish(found, settings, os.environ)
    except ReportNotWritten as exc:
        session.config.stash[_FINISHED_KEY] = ("", report.for_terminal(f"convo-contracts: {exc}", redact))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if finished.gate and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    block = report.for_terminal(console_block(finished.coverage), redact)
    session.config.stash[_FINISHED_KEY] = (block, report.for_terminal(finished.gate, redact) if finished.gate else None)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    found = config.stash.get(_FINISHED_KEY, None)
    if found is None:
        return
    block, message = found
    terminalreporter.section("convo-contracts coverage")
    for line in block.splitlines():
        terminalreporter.write_line(line)
    for line in (message or "").splitlines():
        terminalreporter.write_line(line, red=True)
