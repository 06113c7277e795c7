"""Detection power: our suite and plain Schemathesis against every deliberately broken server
of corpus/broken.py, side by side, and the wall time of a full run against the mock.

Our suite runs as users run it (`convo-contracts run`, defaults, every family). Schemathesis
runs with its strongest ordinary settings: every check, every phase, 100 examples per
operation, the same spec and one API key.

    python benchmarks/detection.py [--faults name,name] [--st-examples 100]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.cli import main as contracts_main  # noqa: E402
from corpus.broken import FAULTS, FaultyApp  # noqa: E402
from mockserver import create_app  # noqa: E402
from mockserver.background import BackgroundServer  # noqa: E402
from specs.auth import scheme_of  # noqa: E402

KEYS = ["--api-key", "demo-alice", "--other-key", "demo-bob", "--readonly-key", "demo-readonly"]


def ours(url: str, api: str) -> tuple[bool, float, str]:
    started = time.perf_counter()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = contracts_main(["run", "--api", api, "--base-url", url, *KEYS])
    return code == 1, time.perf_counter() - started, out.getvalue()


def plain_schemathesis(url: str, api: str, examples: int) -> tuple[bool, float]:
    headers = [
        arg for name, value in scheme_of(api).headers("demo-alice").items() for arg in ("-H", f"{name}: {value}")
    ]
    started = time.perf_counter()
    # In a temp folder: Schemathesis writes its crash cache (.schemathesis/) into its cwd.
    with tempfile.TemporaryDirectory(prefix="convo-detection-") as workdir:
        result = subprocess.run(
            [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()", "run",
             str(ROOT / "specs" / f"{api}.yaml"), "--url", url, *headers, "--checks", "all",
             "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(examples),
             "--seed", "1", "--workers", "2", "--generation-database", "none", "--no-color"],
            capture_output=True, text=True, cwd=workdir,
        )  # fmt: skip
    return result.returncode == 1, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", help="comma-separated fault names (default: all)")
    parser.add_argument("--st-examples", type=int, default=100)
    args = parser.parse_args()
    chosen = [f for f in FAULTS if not args.faults or f.name in args.faults.split(",")]

    with BackgroundServer(create_app()) as server:
        started = time.perf_counter()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = contracts_main(["run", "--api", "all", "--base-url", server.base_url, *KEYS])
        full_run = time.perf_counter() - started
    print(f"full `convo-contracts run --api all` against the mock: exit {code}, {full_run:.1f}s")

    rows = []
    for fault in chosen:
        app = FaultyApp(fault)
        with BackgroundServer(app) as server:
            found, our_time, text = ours(server.base_url, fault.api)
            named = f"· {fault.family} · {fault.check}" in text
        st_app = FaultyApp(fault)
        with BackgroundServer(st_app) as server:
            st_found, st_time = plain_schemathesis(server.base_url, fault.api, args.st_examples)
        if app.errors or st_app.errors:
            sys.exit(f"the broken server's own fault code failed, results would lie: {app.errors + st_app.errors}")
        rows.append((fault, found and named, our_time, st_found, st_time))
        print(
            f"  {fault.name}: ours {'yes' if found and named else 'NO'} ({our_time:.0f}s), schemathesis {'yes' if st_found else 'no'} ({st_time:.0f}s)",
            flush=True,
        )

    print(f"\n{'fault':<36} {'family':<13} {'ours':>5} {'time':>6} {'schemathesis':>13} {'time':>6}")
    for fault, found, our_time, st_found, st_time in rows:
        print(
            f"{fault.name:<36} {fault.family:<13} {'yes' if found else 'NO':>5} {our_time:>5.0f}s {'yes' if st_found else 'no':>13} {st_time:>5.0f}s"
        )
    total = len(rows)
    print(f"\ndetected: ours {sum(r[1] for r in rows)}/{total}, plain Schemathesis {sum(r[3] for r in rows)}/{total}")
    print(f"time: ours {sum(r[2] for r in rows):.0f}s, plain Schemathesis {sum(r[4] for r in rows):.0f}s")


if __name__ == "__main__":
    main()
