"""The first hour, as README tells it: a copy of the project, set-up command 1 run verbatim
(a fresh venv, the install, the mock in the foreground), then every command of the three
quick starts verbatim against that mock, and Ctrl-C. What each step gives back is checked
as data (JSON, a report file, pytest's exit code)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOT_SOURCE = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")


def _command(number: int) -> str:
    lines = README.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith(f"# {number}. ")]
    return lines[at + 1]


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def _blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section, re.M | re.S)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@contextlib.contextmanager
def _command_1_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh copy of the project with command 1 running in it: the mock on port 8000."""
    if not _port_free(8000):
        pytest.fail("port 8000 is taken: README's commands use it; stop what listens there and rerun")
    copy = tmp_path_factory.mktemp("first-hour") / "convo-contracts"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    command = _command(1)
    assert command.startswith("python3 -m venv .venv && ") and command.endswith(".venv/bin/convo-mock")
    mock = subprocess.Popen(
        ["bash", "-c", command],
        cwd=copy,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert mock.stdout is not None
    started = time.monotonic()
    seen: list[str] = []
    try:
        while time.monotonic() - started < 600:
            line = mock.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("Dashboard: "):  # the banner's last line: the mock is serving
                break
        assert any(line.startswith("convo-mock serving") for line in seen), "".join(seen[-30:])
        yield copy
    finally:
        # Ctrl-C, as a person would press it: the process group gets SIGINT.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(mock.pid, signal.SIGINT)
        try:
            code = mock.wait(timeout=30)
        except subprocess.TimeoutExpired:
            mock.kill()
            code = mock.wait()
        assert code == 0, f"the mock ended with {code} on Ctrl-C"


def _run(project: Path, script: str) -> list[str]:
    """Each line of a bash block (joined at trailing backslashes), run in the project copy."""
    outputs = []
    for command in script.replace("\\\n", " ").splitlines():
        if not command.strip() or command.lstrip().startswith("#"):
            continue
        done = subprocess.run(["bash", "-c", command], cwd=project, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    return outputs


def _frontend_quick_start(project: Path) -> None:
    (script,) = _blocks(_section("Quick start: a frontend against the mock"), "bash")
    listed, created, fetched, forced, counted = (json.loads(out) for out in _run(project, script))
    assert len(listed["conversations"]) == 2
    assert created["title"] == "My first chat" and created["id"]
    assert fetched["id"] == "497f6eca-6276-4993-bfeb-53cbbbba6f08"
    assert forced["error"] == "forced"
    assert counted["count"] >= 4


def _ci_quick_start(project: Path) -> None:
    (script,) = _blocks(_section("Quick start: check a deployment in CI"), "bash")
    _run(project, script)
    report = json.loads((project / "reports" / "contracts.json").read_text(encoding="utf-8"))
    assert report["exitCode"] == 0 and report["summary"]["failed"] == 0 and report["summary"]["passed"] > 0
    assert (project / "reports" / "contracts.md").stat().st_size > 0


def _pytest_quick_start(project: Path) -> None:
    section = _section("Quick start: your pytest suite")
    (code,) = _blocks(section, "python")
    (script,) = _blocks(section, "bash")
    (project / "test_client.py").write_text(code, encoding="utf-8")
    # pytest exits 0 only when tests were collected and every one passed (5: none collected).
    _run(project, script)


# One test, not three sharing a module fixture: under pytest-xdist each worker would run its
# own copy of command 1, and README's commands all want port 8000.
@pytest.mark.slow
def test_the_first_hour_runs_as_written(tmp_path_factory: pytest.TempPathFactory) -> None:
    with _command_1_running(tmp_path_factory) as project:
        _frontend_quick_start(project)
        _ci_quick_start(project)
        _pytest_quick_start(project)
