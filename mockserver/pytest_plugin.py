"""pytest plugin `convo_mock` (its own `pytest11` entry point; no conftest needed): the mock
as fixtures for testing client code.

`convo_mock` is a real uvicorn server on a free 127.0.0.1 port, one per session and per
xdist worker, reset before each test. `@pytest.mark.convo_mock(api=..., empty=...,
latency_ms=..., error_rate=..., code=..., random_seed=..., faults=[...])` sets a test's
starting data, chaos and fault rules; `convo_mock.calls(...)` and `convo_mock.assert_called(...)`
query the journal. `upstream="http://..."` on the marker (or the `convo_mock_upstream` ini
option) puts the mock in proxy mode in front of that service: `convo_mock.violations` then
lists what broke the spec, both ways. The server runs in this process, so resets and reads go straight to its `Runtime`
(on the server's event loop, between requests) instead of through the control plane.

Independent of the conformance suite's plugin (`contracts.pytest_plugin`): either can be
disabled with `-p no:convo_mock` / `-p no:convo_contracts` and the other keeps working.

Free until used: pytest loads this module in every run of every project where the package is
installed, so it imports nothing but pytest and the standard library. The mock (Starlette,
uvicorn, httpx, the specs) loads when a test first asks for `convo_mock`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

if TYPE_CHECKING:
    from .background import BackgroundServer
    from .config import MockConfig
    from .proxy.endpoint import ProxyState
    from .runtime import Runtime

T = TypeVar("T")

MARKER = "convo_mock"
_MARKER_OPTIONS = frozenset({"api", "empty", "latency_ms", "error_rate", "code", "random_seed", "upstream", "faults"})
UPSTREAM_INI = "convo_mock_upstream"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        UPSTREAM_INI,
        "proxy mode for convo_mock: forward to this URL (or API=URL, one per line) and check the traffic",
        type="linelist",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(api='runtype'|'systemprompt', empty=False, latency_ms=0, error_rate=0, code=None, "
        "random_seed=None, faults=[{'status': 503, 'times': 2, ...}], upstream=None): starting data, chaos "
        "and fault rules for the convo_mock fixture; upstream='http://...' (or a list of 'api=URL') for proxy mode",
    )


class MockServer:
    """The mock app under uvicorn in a background thread, and its live runtime."""

    def __init__(self, config: MockConfig | None = None) -> None:
        from .app import create_app
        from .background import BackgroundServer

        app = create_app(config)
        self.runtime: Runtime = app.state.runtime
        self.proxy: ProxyState | None = app.state.proxy
        self._server: BackgroundServer = BackgroundServer(app).start()
        self.base_url = self._server.base_url

    def call(self, function: Callable[[Runtime], T]) -> T:
        """`function(runtime)` on the server's loop: atomic with respect to requests."""
        return self._server.call(lambda: function(self.runtime))

    def stop(self) -> None:
        self._server.stop()


def _copy(data: T) -> T:
    # What the control plane would answer: plain JSON, detached from the live state.
    import orjson

    copied: T = orjson.loads(orjson.dumps(data))
    return copied


@dataclass(frozen=True)
class Call:
    """One journal entry, as `convo_mock.calls()` returns it (keys redacted, bodies capped)."""

    id: int
    method: str
    path: str
    query: str
    status: int  # 0: the connection was closed without a response (a reset fault)
    api: str | None
    operation: str | None
    tenant: str | None
    headers: dict[str, str]
    body: Any
    response_headers: dict[str, str]
    response_body: Any
    fault: str | None
    duration_ms: float

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Call:
        return cls(
            id=entry["id"],
            method=entry["method"],
            path=entry["path"],
            query=entry["query"],
            status=entry["status"],
            api=entry["api"],
            operation=entry["operationId"],
            tenant=entry["tenant"],
            headers=entry["headers"],
            body=entry["body"],
            response_headers=entry["response"]["headers"],
            response_body=entry["response"]["body"],
            fault=entry["fault"],
            duration_ms=entry["duration_ms"],
        )

    def __str__(self) -> str:
        where = f"{self.path}?{self.query}" if self.query else self.path
        return f"{self.method} {where} -> {self.status or 'no response'} ({self.operation or 'no operation'})"


def _describe(filters: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in filters.items() if value is not None) or "any call"


@dataclass
class ConvoMock:
    """The running mock, as a test sees it."""

    base_url: str
    api_key: str = "demo-alice"
    other_key: str = "demo-bob"
    readonly_key: str = "demo-readonly"
    api: str = "runtype"
    _server: MockServer | None = field(default=None, repr=False)

    def _call(self, function: Callable[[Runtime], T]) -> T:
        if self._server is None:
            raise RuntimeError("this ConvoMock is not attached to a running mock")
        return self._server.call(function)

    def headers(self, key: str | None = None, api: str | None = None) -> dict[str, str]:
        """The auth headers of `api` (default: this test's API) for `key` (default: api_key)."""
        from specs.auth import scheme_of

        return scheme_of(api or self.api).headers(key or self.api_key)

    def reset(self) -> None:
        """Back to the start-up data (the demo data)."""
        self._call(lambda runtime: runtime.reset())

    def seed(self, data: dict[str, Any]) -> None:
        """Replace all data (the seed file format); raises ValueError on data the spec forbids,
        and then nothing changes."""
        self._call(lambda runtime: runtime.load(data))

    def state(self) -> dict[str, Any]:
        return self._call(lambda runtime: _copy(runtime.store.dump()))

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The journal: what the client under test sent (keys redacted), oldest first."""
        return self._call(lambda runtime: _copy(runtime.journal.read()))

    @property
    def violations(self) -> list[dict[str, Any]]:
        """Proxy mode: what broke the spec since the test started (empty when mocking); the
        monitor's observations (`kind: observation`, not proof) are left out."""
        server = self._server
        if server is None or server.proxy is None:
            return []
        log = server.proxy.violations
        found = self._call(lambda runtime: _copy(log.read()["violations"]))
        return [v for v in found if v["kind"] == "violation"]

    def clear_requests(self) -> None:
        self._call(lambda runtime: runtime.journal.clear())

    def calls(
        self,
        operation: str | None = None,
        method: str | None = None,
        status: int | str | None = None,
        tenant: str | None = None,
        path: str | None = None,
        api: str | None = None,
    ) -> list[Call]:
        """Journal entries matching every given filter, oldest first. `status` is a code or a
        class (`"4xx"`); `tenant` a key (this fixture's `api_key`, ...) or its label; `path` a
        path, or a prefix ending in `*`. ValueError on a malformed filter."""
        from .control.journal import Query

        def read(runtime: Runtime) -> list[dict[str, Any]]:
            label = runtime.keys.label(tenant) if tenant is not None and tenant in runtime.keys else tenant
            query = Query(
                api=api,
                method=method.upper() if method else None,
                path=path,
                operation=operation,
                status=None if status is None else str(status).lower(),
                tenant=label,
            )
            return _copy(runtime.journal.read(query))

        if status is not None:
            Query.parse([("status", str(status))])  # the same check the control plane makes
        return [Call.from_entry(entry) for entry in self._call(read)]

    def assert_called(
        self,
        operation: str | None = None,
        method: str | None = None,
        status: int | str | None = None,
        tenant: str | None = None,
        path: str | None = None,
        api: str | None = None,
        *,
        times: int | None = None,
    ) -> list[Call]:
        """The matching calls; AssertionError listing every call made when there is none (or
        not exactly `times`)."""
        found = self.calls(operation=operation, method=method, status=status, tenant=tenant, path=path, api=api)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = _describe(
            {"operation": operation, "method": method, "status": status, "tenant": tenant, "path": path, "api": api}
        )
        made = self.calls()
        listed = "\n".join(f"  {call}" for call in made) or "  (none)"
        expected = "at least once" if times is None else f"{times} time(s)"
        raise AssertionError(f"expected a call matching {wanted} {expected}, found {len(found)}; calls made:\n{listed}")

    def chaos(
        self,
        *,
        latency_ms: int = 0,
        error_rate: float = 0.0,
        code: int | None = None,
        random_seed: int | None = None,
        faults: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Force a status on every request (where the operation documents it, or a gateway
        status anywhere), add latency, errors or fault rules (the `PUT /__mock__/chaos`
        format); raises ValueError on settings out of range, and then nothing changes."""
        from .control.faults import Source

        settings = {
            "latency_ms": latency_ms,
            "error_rate": error_rate,
            "code": code,
            "random_seed": random_seed,
            "faults": list(faults),
        }
        self._call(lambda runtime: runtime.chaos.update(settings, Source.FIXTURE))


@pytest.fixture(scope="session")
def _convo_mock_server() -> Iterator[MockServer]:
    server = MockServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _convo_mock_proxies() -> Iterator[dict[tuple[tuple[str, str], ...], MockServer]]:
    """Proxy-mode servers, one per distinct upstream setting, started on first use."""
    servers: dict[tuple[tuple[str, str], ...], MockServer] = {}
    yield servers
    for server in servers.values():
        server.stop()


def _upstreams(request: pytest.FixtureRequest, options: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    import specs

    from .proxy.upstream_args import parse_upstreams

    value = options.pop("upstream", None)
    values: list[str] = [value] if isinstance(value, str) else list(value or [])
    if not values:
        values = list(request.config.getini(UPSTREAM_INI))
    try:
        return parse_upstreams(values, specs.API_NAMES)
    except ValueError as exc:
        _bad_option(f"convo_mock: {exc}")


def _bad_option(message: str) -> NoReturn:
    """The test's setup fails with this one line: the mistake is in the test's marker (or the
    ini file), so pytest's traceback through this plugin would only hide it; the other tests
    run on."""
    pytest.fail(message, pytrace=False)


@pytest.fixture
def convo_mock(
    request: pytest.FixtureRequest,
    _convo_mock_server: MockServer,
    _convo_mock_proxies: dict[tuple[tuple[str, str], ...], MockServer],
) -> Iterator[ConvoMock]:
    """The mock server: demo data, no chaos, empty journal at the start of every test."""
    import specs

    from .config import MockConfig
    from .control.faults import Source

    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    unknown = set(options) - _MARKER_OPTIONS
    if unknown:
        _bad_option(f"convo_mock marker: unknown option(s) {', '.join(sorted(unknown))}")
    api = options.pop("api", "runtype")
    if api not in specs.API_NAMES:
        _bad_option(f"convo_mock marker: api must be one of {', '.join(specs.API_NAMES)}")
    empty = bool(options.pop("empty", False))
    upstreams = _upstreams(request, options)
    server = _convo_mock_server
    if upstreams:
        if upstreams not in _convo_mock_proxies:
            _convo_mock_proxies[upstreams] = MockServer(MockConfig(upstreams=upstreams))
        server = _convo_mock_proxies[upstreams]
    mock = ConvoMock(server.base_url, api=api, _server=server)
    proxy = server.proxy

    def start(runtime: Runtime) -> None:
        # One step on the loop: no request sees a half-reset mock.
        runtime.reset()
        if empty:
            runtime.load({"tenants": {}})
        settings = {
            "latency_ms": options.get("latency_ms", 0),
            "error_rate": options.get("error_rate", 0.0),
            "random_seed": options.get("random_seed"),
            "code": options.get("code"),
            "faults": list(options.get("faults", ())),
        }
        runtime.chaos.update(settings, Source.MARKER)
        runtime.journal.clear()
        if proxy is not None:
            proxy.violations.clear()

    try:
        server.call(start)
    except ValueError as exc:
        _bad_option(f"convo_mock marker: {exc}")
    yield mock
    mock.chaos()
