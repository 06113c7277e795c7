"""The hostile servers, the suite run against them as a real `convo-contracts` process, and a
real `convo-mock --upstream` process in front of them, each output kept as bytes."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx
import pytest

from corpus.hostile import Hostile, WireServer

from .inert import KEYS

_BIN = Path(sys.executable).parent
_URL = re.compile(rb"at (http://\S+)")
REPORTS = {"junit": "--junit-xml", "json": "--json", "html": "--html", "markdown": "--markdown"}


def _command(script: str, module: str) -> list[str]:
    """The installed console script, as a user runs it (`python -m` where there is none)."""
    path = _BIN / script
    return [str(path)] if path.exists() else [sys.executable, "-m", module]


def memory_kib(pid: int, field_name: str = "VmRSS") -> int:
    """A process's resident memory now (VmRSS), or its peak so far (VmHWM), from the kernel;
    0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    found = re.search(rf"^{field_name}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0  # a zombie has no memory lines


@pytest.fixture
def hostile_server() -> Iterator[Callable[[Hostile], WireServer]]:
    started: list[WireServer] = []

    def start(hostile: Hostile) -> WireServer:
        server = hostile.server(KEYS).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
    errors = [e for server in started for e in server.app.errors]
    assert not errors, "the hostile server's own code failed: " + "; ".join(errors)


@dataclass
class SuiteRun:
    code: int
    stdout: bytes
    stderr: bytes
    files: dict[str, Path]  # report format (and "step-summary") → its file
    peak_rss_kib: int

    def read(self, name: str) -> bytes:
        return self.files[name].read_bytes() if self.files[name].exists() else b""


def run_suite(base_url: str, families: tuple[str, ...], folder: Path, *extra: str) -> SuiteRun:
    """`convo-contracts run` against `base_url` with the three keys, every report format and a
    GitHub step summary; its exit code, output and peak memory (from the kernel's accounting)."""
    files = {name: folder / f"report.{name}" for name in REPORTS}
    files["step-summary"] = folder / "step-summary.md"
    files["step-summary"].write_text("")  # GitHub creates it empty before the step runs
    args = [
        *_command("convo-contracts", "contracts"), "run", "--base-url", base_url,
        "--api-key", KEYS[0], "--other-key", KEYS[1], "--readonly-key", KEYS[2],
        "--only", ",".join(families), "--max-examples", "5", "--timeout", "2", "--max-duration", "120",
        *(arg for name, flag in REPORTS.items() for arg in (flag, str(files[name]))),
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(files["step-summary"])}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda n=n, s=s: out.__setitem__(n, s.read()), daemon=True)
        for n, s in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    # The kernel's high-water mark of the process (VmHWM), read until it exits: a peak stays
    # in it, so only the last moments could be missed. (The rusage of wait4 will not do: a
    # child's maxrss starts from its parent's RSS at the fork.)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, memory_kib(proc.pid, "VmHWM"))
        time.sleep(0.05)
    for reader in readers:
        reader.join(timeout=30)
    return SuiteRun(proc.returncode, out.get("stdout", b""), out.get("stderr", b""), files, peak)


def get_many(base_url: str, targets: Iterable[str], headers: dict[str, str]) -> list[int]:
    """GET each target (path and query, already encoded) over one kept-alive connection; the
    statuses. http.client, not httpx: httpx takes ~20 ms to build a request for a 60 KB URL."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
    statuses = []
    try:
        for target in targets:
            connection.request("GET", target, headers=headers)
            answer = connection.getresponse()
            answer.read()
            statuses.append(answer.status)
    finally:
        connection.close()
    return statuses


@dataclass
class Proxy:
    """`convo-mock --upstream URL --record FILE --json FILE` in a child process, its stdout and
    stderr kept apart, as bytes."""

    upstream: str
    folder: Path
    args: tuple[str, ...] = ()
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.record = self.folder / "record.json"
        self.report = self.folder / "traffic.json"
        command = [
            *_command("convo-mock", "mockserver"), "--port", "0", "--upstream", self.upstream,
            "--record", str(self.record), "--json", str(self.report), "--upstream-timeout", "5", *self.args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self._start()
        except BaseException:
            self.proc.kill()  # never left running behind a failed start
            self.proc.wait()
            raise

    def _start(self) -> None:
        self.base_url = self._url()
        self._drains = [
            threading.Thread(target=self._drain, args=(pipe, into), daemon=True)
            for pipe, into in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))
        ]
        for drain in self._drains:
            drain.start()
        deadline = time.monotonic() + 15
        while not self._healthy():
            if time.monotonic() > deadline:
                raise RuntimeError("the proxy never became healthy")
            time.sleep(0.05)

    def _healthy(self) -> bool:
        # The banner comes out just before the server listens.
        try:
            return httpx.get(self.base_url + "/__mock__/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def _url(self) -> str:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the proxy exited early ({self.proc.wait()}): {self.stdout!r}")
            self.stdout += line
            found = _URL.search(line)
            if found and line.startswith(b"convo-mock serving"):
                return found.group(1).decode()

    @staticmethod
    def _drain(pipe: IO[bytes], into: bytearray) -> None:
        while chunk := pipe.read1(65536):  # type: ignore[attr-defined]
            into += chunk

    def memory_kib(self, field_name: str = "VmRSS") -> int:
        """The process's resident memory now (VmRSS), or its peak so far (VmHWM)."""
        return memory_kib(self.proc.pid, field_name)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        for drain in self._drains:
            drain.join(timeout=10)
        return code


@pytest.fixture
def proxy_in_front(tmp_path: Path) -> Iterator[Callable[..., Proxy]]:
    started: list[Proxy] = []

    def start(upstream: str, *args: str) -> Proxy:
        proxy = Proxy(upstream, tmp_path, args)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


from tests.mockserver.conftest import browser  # noqa: E402  (the one Chromium fixture, reused)

__all__ = ["browser"]
