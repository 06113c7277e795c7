"""Throughput measured so that it can see the ceiling: every server beside a bare endpoint on
the same stack, in the same run, in alternated pairs, and a say on what limited the run.

- Each server is pinned to core 0 and wrk to core 1 (taskset), 32 connections, keep-alive.
- Pairs alternate (A B, then B A: drift on a shared machine hits both alike); a figure is
  the median of the per-pair ratios, with their spread.
- The run says when the load generator or the machine, not the server, is the limit: bare
  below an expected floor, wrk's own CPU time (from /proc) near a whole core, or a server
  that was not busy the whole time (its CPU time from /proc).

The pure parts (ratios, medians, the limit rules) are tested in tests/benchmarks/.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = 32
SERVER_CORE, WRK_CORE = 0, 1
# What bare Starlette serves on GET one here when nothing else runs (issue 21: 22.7-25.4k on
# the CI machine kind). Below this, the run cannot see the ceiling: it says so.
BARE_FLOOR = 15_000.0
# wrk busy this share of its core: it, not the server, may be what stops the count rising.
WRK_SATURATED = 0.90
# A server busy less than this share of its core had idle time: something else was the limit.
SERVER_BUSY = 0.85
# A server kept waiting for its core this share of the time: other processes ran there.
SERVER_CROWDED = 0.10


@dataclass(frozen=True)
class Sample:
    """One wrk run against one server."""

    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    wrk_cpu: float  # share of one core wrk used
    server_cpu: float  # share of one core the server used (nan when unknown)
    server_waited: float = float("nan")  # share of the time the server was ready but another process had its core


# --- pure ------------------------------------------------------------------------------


def pair_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Per-pair ratios of two series measured in alternation (pair i = round i)."""
    if len(numerators) != len(denominators):
        raise ValueError("pairs need series of one length")
    return [a / b for a, b in zip(numerators, denominators, strict=True) if b > 0]


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.median:.2f} ({self.low:.2f}-{self.high:.2f})"


def spread(values: Iterable[float]) -> Spread:
    ordered = sorted(values)
    if not ordered:
        return Spread(float("nan"), float("nan"), float("nan"))
    return Spread(statistics.median(ordered), ordered[0], ordered[-1])


def order(round_: int, targets: Sequence[str]) -> list[str]:
    """The targets' order in a round: forwards, then backwards (A B C, C B A, ...)."""
    return list(targets) if round_ % 2 == 0 else list(reversed(targets))


def limits(samples: dict[str, list[Sample]], bare: str | None, floor: float = BARE_FLOOR) -> list[str]:
    """Why this case's figures may show the load generator or the machine rather than the
    servers: each reason as one sentence; none when the servers were the limit."""
    said = []
    if bare is not None and bare in samples:
        best = max((s.rps for s in samples[bare]), default=0.0)
        if best < floor:
            said.append(
                f"bare reached {best:,.0f} req/s, below the expected floor of {floor:,.0f}: "
                "the machine or the load generator limits this run, not only the servers"
            )
    for name, runs in samples.items():
        wrk = statistics.median(s.wrk_cpu for s in runs)
        if wrk >= WRK_SATURATED:
            said.append(f"wrk used {wrk:.0%} of its core against {name}: the load generator was (near) the limit")
        waited = [s.server_waited for s in runs if s.server_waited == s.server_waited]  # without nan
        if waited and statistics.median(waited) >= SERVER_CROWDED:
            said.append(
                f"{name} waited for its core {statistics.median(waited):.0%} of the time while other processes "
                "ran there: the machine, not the server, set this pace"
            )
            continue
        busy = [s.server_cpu for s in runs if s.server_cpu == s.server_cpu]
        if busy and statistics.median(busy) < SERVER_BUSY:
            said.append(
                f"{name} was busy {statistics.median(busy):.0%} of the time: not CPU-bound, something else limited it"
            )
    return said


def to_ms(value: str) -> float:
    """wrk's latency text (812.00us, 4.31ms, 1.20s, 1.01m) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        return float("nan")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]


def parse_wrk(out: str) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and non-2xx/3xx answers from wrk's --latency output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"\s50%\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rps is None or p50 is None or p99 is None:
        raise RuntimeError(f"wrk printed no figures: {out[-400:]!r}")
    return float(rps.group(1)), to_ms(p50.group(1)), to_ms(p99.group(1)), int(non2xx.group(1)) if non2xx else 0


def wrk_script(method: str, headers: dict[str, str], body: str | None) -> str:
    lines = [f'wrk.method = "{method}"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = '{body}'")
    return "\n".join(lines) + "\n"


# --- measuring ------------------------------------------------------------------------


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (or a zombie not yet reaped), from /proc."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    # After the command: state(3) ... utime(14) stime(15), counted from 1 over the whole line.
    return (int(fields[11]) + int(fields[12])) / _TICK


def run_delay_seconds(pid: int) -> float:
    """Time the process's main thread was ready to run but waited for a core (/proc schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def _state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2]


def wrk(url: str, script: Path, seconds: float, server_pid: int | None, connections: int = CONNECTIONS) -> Sample:
    """One wrk run on its own core, with wrk's and the server's CPU time read from /proc."""
    server_before = cpu_seconds(server_pid) if server_pid else 0.0
    delay_before = run_delay_seconds(server_pid) if server_pid else 0.0
    command = ["taskset", "-c", str(WRK_CORE), "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    proc = subprocess.Popen([*command, "-s", str(script), url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()  # to the end: wrk has finished its run and is exiting
    # Read its CPU time before reaping it: a zombie's /proc entry still holds the totals.
    deadline = time.monotonic() + 10
    while _state(proc.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.005)
    wrk_cpu = cpu_seconds(proc.pid)
    if proc.wait() != 0:
        raise RuntimeError(f"wrk failed against {url}")
    server_cpu = (cpu_seconds(server_pid) - server_before) / seconds if server_pid else float("nan")
    waited = (run_delay_seconds(server_pid) - delay_before) / seconds if server_pid else float("nan")
    rps, p50, p99, non2xx = parse_wrk(out)
    return Sample(rps, p50, p99, non2xx, wrk_cpu / seconds, server_cpu, waited)


def require_wrk() -> None:
    import shutil

    if not shutil.which("wrk") or not shutil.which("taskset"):
        sys.exit("wrk and taskset are needed: apt-get install -y wrk util-linux")
