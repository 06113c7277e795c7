"""pytest plugin `convo_mock` (its own `pytest11` entry point; no conftest needed): the mock
as fixtures for testing client code.

`convo_mock` is a real uvicorn server on a free 127.0.0.1 port, one per session and per
xdist worker, reset before each test. `@pytest.mark.convo_mock(api=..., empty=...,
latency_ms=..., error_rate=..., code=..., random_seed=...)` sets a test's starting data and
chaos. The server runs in this process, so resets and reads go straight to its `Runtime`
(on the server's event loop, between requests) instead of through the control plane.

Independent of the conformance suite's plugin (`contracts.pytest_plugin`): either can be
disabled with `-p no:convo_mock` / `-p no:convo_contracts` and the other keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import pytest

import specs
from specs.auth import scheme_of

from .background import BackgroundServer
from .runtime import Runtime

T = TypeVar("T")

MARKER = "convo_mock"
_MARKER_OPTIONS = frozenset({"api", "empty", "latency_ms", "error_rate", "code", "random_seed"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(api='runtype'|'systemprompt', empty=False, latency_ms=0, error_rate=0, code=None, "
        "random_seed=None): starting data and chaos for the convo_mock fixture",
    )


class MockServer:
    """The mock app under uvicorn in a background thread, and its live runtime."""

    def __init__(self) -> None:
        # Imported here: registering the plugin (every pytest run) need not build an app.
        from .app import create_app

        app = create_app()
        self.runtime: Runtime = app.state.runtime
        self._server = BackgroundServer(app).start()
        self.base_url = self._server.base_url

    def call(self, function: Callable[[Runtime], T]) -> T:
        """`function(runtime)` on the server's loop: atomic with respect to requests."""
        return self._server.call(lambda: function(self.runtime))

    def stop(self) -> None:
        self._server.stop()


def _copy(data: T) -> T:
    # What the control plane would answer: plain JSON, detached from the live state.
    copied: T = orjson.loads(orjson.dumps(data))
    return copied


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
        return scheme_of(api or self.api).headers(key or self.api_key)

    def reset(self) -> None:
        """Back to the start-up data (the demo data)."""
        self._call(Runtime.reset)

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

    def clear_requests(self) -> None:
        self._call(lambda runtime: runtime.journal.clear())

    def chaos(
        self, *, latency_ms: int = 0, error_rate: float = 0.0, code: int | None = None, random_seed: int | None = None
    ) -> None:
        """Force a status on every request (where the operation documents it), add latency or
        errors; raises ValueError on settings out of range."""
        self._call(
            lambda runtime: runtime.chaos.configure(
                latency_ms=latency_ms, error_rate=error_rate, random_seed=random_seed, code=code
            )
        )

    def close(self) -> None:
        """Kept for callers of the HTTP-based fixture; nothing to release."""


@pytest.fixture(scope="session")
def _convo_mock_server() -> Iterator[MockServer]:
    server = MockServer()
    yield server
    server.stop()


@pytest.fixture
def convo_mock(request: pytest.FixtureRequest, _convo_mock_server: MockServer) -> Iterator[ConvoMock]:
    """The mock server: demo data, no chaos, empty journal at the start of every test."""
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    unknown = set(options) - _MARKER_OPTIONS
    if unknown:
        raise pytest.UsageError(f"convo_mock marker: unknown option(s) {', '.join(sorted(unknown))}")
    api = options.pop("api", "runtype")
    if api not in specs.API_NAMES:
        raise pytest.UsageError(f"convo_mock marker: api must be one of {', '.join(specs.API_NAMES)}")
    empty = bool(options.pop("empty", False))
    mock = ConvoMock(_convo_mock_server.base_url, api=api, _server=_convo_mock_server)

    def start(runtime: Runtime) -> None:
        # One step on the loop: no request sees a half-reset mock.
        runtime.reset()
        if empty:
            runtime.load({"tenants": {}})
        runtime.chaos.configure(
            latency_ms=options.get("latency_ms", 0),
            error_rate=options.get("error_rate", 0.0),
            random_seed=options.get("random_seed"),
            code=options.get("code"),
        )
        runtime.journal.clear()

    try:
        _convo_mock_server.call(start)
    except ValueError as exc:
        raise pytest.UsageError(f"convo_mock marker: {exc}") from None
    yield mock
    mock.chaos()
