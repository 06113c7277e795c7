"""Shared fixtures: a real mock server process on 127.0.0.1, and clients that check every
response it sends against the spec with openapi-core (the reference, not the mock's own
validators)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# httpx imports httpcore lazily and caches its exception map on first use; if that first use
# fell inside a pytester test, pytester's sys.modules restore would drop httpcore and later
# imports would make exception classes the cached map does not know. Import it up front.
import httpcore  # noqa: F401
import httpx
import pytest
from hypothesis import HealthCheck, settings

from contracts.reference import response_errors
from contracts.target import auth_headers

pytest_plugins = ["pytester"]

# The project's own tests never take settings from the caller's environment: a CONVO_STRICT
# or CONVO_BASE_URL exported in a shell (or by a CI job that also runs the suite against a
# real deployment) would change verdicts, or make this very run fire conformance items at that
# deployment. Removed before collection, so subprocesses and pytester runs start clean too;
# tests that need one set it themselves. Only the knob that locates a browser is kept.
TOOLING_ENV = frozenset({"CONVO_CHROMIUM"})
for _name in [n for n in os.environ if n.startswith("CONVO_") and n not in TOOLING_ENV]:
    del os.environ[_name]
# Nor does a run inside a GitHub job append our test runs' reports to that job's summary.
os.environ.pop("GITHUB_STEP_SUMMARY", None)

# Fixed profiles: CI runs are reproducible, a red run is a real defect.
settings.register_profile(
    "ci", max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ALICE, BOB, READONLY = "demo-alice", "demo-bob", "demo-readonly"
_URL = re.compile(r"at (http://\S+)")


class MockProcess:
    """`python -m mockserver` in a child process, as a developer would start it."""

    def __init__(self, *args: str, cwd: Path | None = None) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
        )
        self.banner_lines: list[str] = []
        self.base_url = self._wait_for_url()
        self.output: list[str] = []
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        self._wait_until_healthy()

    def _wait_for_url(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"mock exited early ({self.proc.wait()}): {''.join(self.banner_lines)}")
            self.banner_lines.append(line)
            match = _URL.search(line)
            if match and line.startswith("convo-mock serving"):
                # Read the rest of the banner: it ends with the control-plane line.
                while not line.startswith("Control plane"):
                    line = self.proc.stdout.readline()
                    self.banner_lines.append(line)
                return match.group(1)
        raise RuntimeError("mock did not print its URL within 30 s")

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:  # closed by its reader, at the end of the output
            for line in self.proc.stdout:
                self.output.append(line)

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/__mock__/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("mock never became healthy")

    @property
    def banner(self) -> str:
        return "".join(self.banner_lines)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        self._drainer.join(timeout=5)
        return code

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class CheckedClient(httpx.Client):
    """An httpx client that validates every response to a spec operation with openapi-core."""

    def __init__(self, api: str, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.api = api
        self.violations: list[str] = []
        super().__init__(base_url=base_url, headers=headers, timeout=30, event_hooks={"response": [self._check]})

    def _check(self, response: httpx.Response) -> None:
        response.read()
        # Not a spec operation (undeclared method, unknown path): nothing to validate against.
        if response.status_code == 405:
            return
        if response.status_code == 404 and response.json().get("message", "").startswith("no such path"):
            return
        for error in response_errors(self.api, response):
            self.violations.append(
                f"{response.request.method} {response.request.url} -> {response.status_code}: {error}"
            )


@pytest.fixture
def spawn_mock() -> Iterator[Any]:
    started: list[MockProcess] = []

    def spawn(*args: str, cwd: Path | None = None) -> MockProcess:
        mock = MockProcess(*args, cwd=cwd)
        started.append(mock)
        return mock

    yield spawn
    for mock in started:
        mock.stop()


@pytest.fixture(scope="session")
def shared_mock() -> Iterator[MockProcess]:
    mock = MockProcess()
    yield mock
    mock.stop()


@pytest.fixture
def mock(shared_mock: MockProcess) -> MockProcess:
    """The shared default mock, reset to its demo data before each test."""
    httpx.post(f"{shared_mock.base_url}/__mock__/reset").raise_for_status()
    httpx.delete(f"{shared_mock.base_url}/__mock__/requests").raise_for_status()
    return shared_mock


@pytest.fixture
def clients(mock: MockProcess) -> Iterator[Any]:
    """`clients("runtype", key)` → a CheckedClient; asserts at teardown that every response conformed."""
    made: list[CheckedClient] = []

    def make(api: str, key: str | None = ALICE) -> CheckedClient:
        client = CheckedClient(api, mock.base_url, auth_headers(api, key))
        made.append(client)
        return client

    yield make
    violations = [v for c in made for v in c.violations]
    for client in made:
        client.close()
    assert not violations, "responses that break the spec:\n" + "\n".join(violations)
