"""Throughput with and without the Guard middleware (Host check, head limits, control-plane
rules): the same cases, wrk and pinning as throughput.py, the two servers measured in
alternation so that drift on a shared machine hits both alike. Also the guard's own cost per
request, timed in-process: a figure that a busy machine cannot blur as much as req/s.

    python benchmarks/guard_cost.py [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _servers import ROOT, free_port, start, stop
from throughput import CASES, measure

from mockserver.config import MockConfig
from mockserver.guard import Guard
from specs.auth import scheme_of

VARIANTS = ("unguarded", "mock")


def per_request_cost(calls: int = 200_000) -> tuple[float, float]:
    """Microseconds per `Guard.check` for an API request and for a control-plane write."""
    guard = Guard(lambda scope, receive, send: None, MockConfig())  # type: ignore[arg-type, return-value]
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"),
        (b"accept", b"*/*"),
        (b"accept-encoding", b"gzip, deflate"),
        *((k.lower().encode(), v.encode()) for k, v in scheme_of("runtype").headers("demo-alice").items()),
        (b"origin", b"http://localhost:3000"),
        (b"content-type", b"application/json"),
        (b"content-length", b"14"),
    ]
    costs = []
    for method, path in (("GET", "/v1/conversations/conv_demo1_1"), ("PUT", "/__mock__/state")):
        scope = {"type": "http", "method": method, "path": path, "headers": headers}
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(calls):
                if guard.check(scope) is not None:
                    raise RuntimeError("the benchmark request was refused")
            best = min(best, time.perf_counter() - started)
        costs.append(best / calls * 1e6)
    return costs[0], costs[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    api, control = per_request_cost()
    print(f"Guard.check: {api:.2f} µs per API request, {control:.2f} µs per control-plane write")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    results: dict[str, dict[str, list[float]]] = {v: {c: [] for c in CASES} for v in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for variant in VARIANTS:
                port = free_port()
                command = [sys.executable, str(ROOT / "benchmarks" / "variants.py"), variant, str(port)]
                proc = start(command, port, 0, "/__mock__/health")
                try:
                    for case in CASES:
                        rps, _, _ = measure(f"http://127.0.0.1:{port}", case, 1, args.duration, Path(tmp))
                        results[variant][case].append(rps)
                finally:
                    stop(proc)
    print(f"\n{'case':<28}{'no guard req/s':>16}{'guard req/s':>14}{'change':>9}")
    for case in CASES:
        before = statistics.median(results["unguarded"][case])
        after = statistics.median(results["mock"][case])
        print(f"{case:<28}{before:>16,.0f}{after:>14,.0f}{after / before - 1:>+9.1%}")


if __name__ == "__main__":
    main()
