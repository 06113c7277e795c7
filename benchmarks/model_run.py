"""The model family's cost: a full `convo-contracts run` (every family, both APIs, three keys,
the default budget) against the mock in its own process, timed per family from the JSON
report's progress, plus the model family alone, and the bound it must stay under.

    python benchmarks/model_run.py [--rounds 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _servers import free_port, mock_command, start, stop  # noqa: E402

from contracts.cli import main as contracts_main  # noqa: E402
from contracts.settings import BY_NAME  # noqa: E402

KEYS = ["--api-key", "demo-alice", "--other-key", "demo-bob", "--readonly-key", "demo-readonly"]
BOUND = 90.0  # seconds a full run with the model family may take against the mock (issue 20)
_PROGRESS = re.compile(r"^(\w+)\s+(\w+)\s+.*\((\d+\.\d)s")


def run_once(url: str, seed: int, *only: str) -> tuple[int, float, dict[tuple[str, str], float]]:
    """One run: its exit code, wall time, and each API × family's time from the progress lines."""
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = contracts_main(["run", "--base-url", url, *KEYS, "--seed", str(seed), *only])
    elapsed = time.perf_counter() - started
    parts = {}
    for line in out.getvalue().splitlines():
        found = _PROGRESS.match(line)
        if found:
            parts[(found.group(1), found.group(2))] = float(found.group(3))
    return code, elapsed, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    budget = {name: BY_NAME[name].default for name in ("model_examples", "model_steps", "model_seconds")}
    print(f"model family budget per API: {budget}")
    port = free_port()
    proc = start(mock_command(port), port, None, "/__mock__/health")
    url = f"http://127.0.0.1:{port}"
    try:
        fulls, models = [], []
        for round_ in range(1, args.rounds + 1):
            code, full, parts = run_once(url, args.seed)
            fulls.append(full)
            model = sum(t for (_, family), t in parts.items() if family == "model")
            models.append(model)
            shown = ", ".join(f"{api} {family} {t:.1f}s" for (api, family), t in sorted(parts.items()))
            print(f"round {round_}: full run exit {code}, {full:.1f}s (model family {model:.1f}s); {shown}", flush=True)
            if code != 0:
                sys.exit(f"the full run against the mock did not pass (exit {code}): the timing means nothing")
        code, alone, _ = run_once(url, args.seed, "--only", "model")
        print(f"model family alone, both APIs: exit {code}, {alone:.1f}s")
    finally:
        stop(proc)
    worst = max(fulls)
    print(
        f"\nfull run with the model family: median {statistics.median(fulls):.1f}s, worst {worst:.1f}s "
        f"(model family median {statistics.median(models):.1f}s) — bound {BOUND:.0f}s: "
        f"{'within' if worst < BOUND else 'OVER'}"
    )


if __name__ == "__main__":
    main()
