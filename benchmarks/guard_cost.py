"""Throughput with and without the Guard middleware (Host check, head limits, control-plane
rules): the same cases, wrk and pinning as throughput.py, the two servers measured in
alternation so that drift on a shared machine hits both alike.

    python benchmarks/guard_cost.py [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _servers import ROOT, free_port, start, stop
from throughput import CASES, measure

VARIANTS = ("unguarded", "mock")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
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
