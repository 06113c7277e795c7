"""Starting servers for the benchmarks: pinned to one core, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    command: list[str],
    port: int,
    core: int | None,
    ready_path: str,
    headers: dict[str, str] | None = None,
    timeout: float = 120,
    cwd: Path = ROOT,
    pythonpath: bool = True,
) -> subprocess.Popen[bytes]:
    """`command` pinned to `core`, once `ready_path` answers. With `pythonpath`, this tree's
    sources come first; without it (and another `cwd`), the command's own install does."""
    pinned = ["taskset", "-c", str(core), *command] if core is not None else command
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        pinned,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**env, "PYTHONPATH": str(ROOT)} if pythonpath else env,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}{ready_path}", headers=headers, timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{command[:4]} did not start within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def mock_command(port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "mockserver", "--port", str(port), "--log-level", "error", *args]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")
