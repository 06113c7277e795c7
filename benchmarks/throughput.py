"""Requests/s of the mock beside a bare endpoint on the same stack (Starlette + uvicorn with
uvloop and httptools, `bare_app.py`), measured in the same run in alternated pairs: what a
figure means is its ratio to the ceiling, and the run says when it could not see the ceiling
(see `_harness.py`). Every request carries auth and the mock validates it, as in normal use.

    python benchmarks/throughput.py                    # the mock against bare
    python benchmarks/throughput.py --compare ff609e0  # that revision against this tree (and bare)
    python benchmarks/throughput.py --proxy            # the proxy against the mock it fronts (and bare)

Each server on core 0, wrk on core 1, 32 connections, a warm-up, then ROUNDS rounds of
DURATION seconds per server and case; tables of medians, ratios as the median of the
per-pair ratios (lowest-highest in brackets). `--compare` installs the revision and this
working tree each in a temp venv (`_install.py`), so a change's cost is one command. In
`--proxy`, the proxy gets core 0 as the mock alone does; the mock behind it shares core 1
with wrk (a real upstream costs the proxy's machine nothing). Beside it runs the thinnest
proxy this stack allows (`bare_proxy.py`: uvicorn and the proxy's own upstream client, no
checks): its ratio to the mock is the ceiling of the proxy's, as bare is the mock's.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from _harness import (
    BARE_FLOOR,
    SERVER_CORE,
    WRK_CORE,
    Sample,
    limits,
    order,
    pair_ratios,
    require_wrk,
    spread,
    wrk,
    wrk_script,
)
from _install import python_with
from _servers import ROOT, free_port, start, stop

from specs.auth import scheme_of

RT = scheme_of("runtype").headers("demo-alice")
DOC_UUID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
CASES = {
    # name: (method, path, headers, body)
    "runtype GET one": ("GET", "/v1/conversations/conv_demo1_1", RT, None),
    'runtype PUT {"title":"x"}': (
        "PUT",
        "/v1/conversations/conv_demo1_1",
        {**RT, "Content-Type": "application/json"},
        '{"title": "x"}',
    ),
    "runtype list limit=20": ("GET", "/v1/conversations?limit=20", RT, None),
    "systemprompt GET one": (
        "GET",
        f"/v1/conversation/{DOC_UUID}",
        scheme_of("systemprompt").headers("demo-alice"),
        None,
    ),
}
HEALTH = "/__mock__/health"


def uvicorn_command(app: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", app, "--app-dir", str(ROOT / "benchmarks"),
        "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--log-level", "error", "--no-access-log",
    ]  # fmt: skip


def bare_command(port: int) -> list[str]:
    return uvicorn_command("bare_app:app", port)


def bare_proxy_command(port: int, upstream: str) -> list[str]:
    return ["env", f"BARE_PROXY_UPSTREAM={upstream}", *uvicorn_command("bare_proxy:app", port)]


def mock_command(python: Path | str, port: int, *args: str) -> list[str]:
    return [str(python), "-m", "mockserver", "--port", str(port), "--log-level", "error", *args]


@contextlib.contextmanager
def servers(mode: str, compare: str | None, work: Path) -> Iterator[dict[str, tuple[str, int]]]:
    """The servers to measure, by name: (base URL, pid)."""
    started: list[subprocess.Popen[bytes]] = []

    try:
        found: dict[str, tuple[str, int]] = {}
        port = free_port()
        proc = start(bare_command(port), port, SERVER_CORE, "/")
        started.append(proc)
        found["bare"] = (f"http://127.0.0.1:{port}", proc.pid)
        if mode == "compare":
            assert compare is not None
            for name, revision in (("old", compare), ("new", None)):
                python = python_with(revision, work)
                port = free_port()
                proc = start(mock_command(python, port), port, SERVER_CORE, HEALTH, cwd=work, pythonpath=False)
                started.append(proc)
                found[f"{name} ({compare})" if name == "old" else "new (this tree)"] = (
                    f"http://127.0.0.1:{port}",
                    proc.pid,
                )
        elif mode == "proxy":
            port = free_port()
            proc = start(mock_command(sys.executable, port), port, SERVER_CORE, HEALTH)
            started.append(proc)
            found["mock"] = (f"http://127.0.0.1:{port}", proc.pid)
            upstream = free_port()
            started.append(start(mock_command(sys.executable, upstream), upstream, WRK_CORE, HEALTH))
            port = free_port()
            proc = start(bare_proxy_command(port, f"http://127.0.0.1:{upstream}"), port, SERVER_CORE, HEALTH)
            started.append(proc)
            found["bare proxy"] = (f"http://127.0.0.1:{port}", proc.pid)
            port = free_port()
            command = mock_command(sys.executable, port, "--upstream", f"http://127.0.0.1:{upstream}")
            proc = start(command, port, SERVER_CORE, HEALTH)
            started.append(proc)
            found["proxy"] = (f"http://127.0.0.1:{port}", proc.pid)
        else:
            port = free_port()
            proc = start(mock_command(sys.executable, port), port, SERVER_CORE, HEALTH)
            started.append(proc)
            found["mock"] = (f"http://127.0.0.1:{port}", proc.pid)
        yield found
    finally:
        for proc in reversed(started):
            stop(proc)


def ratios_wanted(names: list[str]) -> list[tuple[str, str]]:
    """(numerator, denominator) pairs worth printing: the headline pair of the mode first (new
    against old; the proxy against the mock it fronts, and its ceiling, the bare proxy, against
    the same mock), then each server against bare."""
    if "proxy" in names:
        return [("proxy", "mock"), ("bare proxy", "mock"), ("proxy", "bare proxy"), ("mock", "bare")]
    wanted = [(name, "bare") for name in names if name != "bare"]
    if len(names) == 3:
        wanted.insert(0, (names[2], names[1]))
    return wanted


def measure(
    targets: dict[str, tuple[str, int]], cases: list[str], rounds: int, seconds: float, work: Path
) -> dict[str, dict[str, list[Sample]]]:
    scripts: dict[str, Path] = {}
    for case in cases:
        method, _, headers, body = CASES[case]
        scripts[case] = work / f"case{len(scripts)}.lua"
        scripts[case].write_text(wrk_script(method, headers, body))
    results: dict[str, dict[str, list[Sample]]] = {case: {name: [] for name in targets} for case in cases}
    for case in cases:  # warm-up: caches, the JIT-less interpreter's first paths, the kernel
        for base, pid in targets.values():
            wrk(base + CASES[case][1], scripts[case], 1, pid)
    for round_ in range(rounds):
        for case in cases:
            for name in order(round_, list(targets)):
                base, pid = targets[name]
                sample = wrk(base + CASES[case][1], scripts[case], seconds, pid)
                if sample.non2xx:
                    print(f"  warning: {name} answered {sample.non2xx} non-2xx to {case}", file=sys.stderr)
                results[case][name].append(sample)
        print(f"  round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
    return results


def label(name: str) -> str:
    """A server's name without its note: `old (ff609e0)` is `old`."""
    return name.split(" (")[0]


def print_table(results: dict[str, dict[str, list[Sample]]], floor: float) -> None:
    names = list(next(iter(results.values())))
    pairs = ratios_wanted(names)
    head = f"{'case':<28}" + "".join(f"{name + ' req/s':>22}{'p50 ms':>8}" for name in names)
    head += "".join(f"{label(a) + '/' + label(b):>22}" for a, b in pairs)
    print("\n" + head)
    notes: list[str] = []
    for case, by_name in results.items():
        row = f"{case:<28}"
        for name in names:
            rps = spread(s.rps for s in by_name[name]).median
            p50 = spread(s.p50_ms for s in by_name[name]).median
            row += f"{rps:>22,.0f}{p50:>8.2f}"
        for a, b in pairs:
            series = pair_ratios([s.rps for s in by_name[a]], [s.rps for s in by_name[b]])
            row += f"{spread(series)!s:>22}"
        print(row)
        notes += [
            f"{case}: {line}" for line in limits(by_name, "bare", floor if case.endswith("GET one") else floor * 0.8)
        ]
    wrk_cpu = max(max(s.wrk_cpu for s in runs) for by_name in results.values() for runs in by_name.values())
    print(
        f"\nratios: median of {len(next(iter(next(iter(results.values())).values())))} alternated pairs (lowest-highest)"
    )
    print(f"wrk's CPU: at most {wrk_cpu:.0%} of its core")
    for note in notes:
        print(f"limit: {note}")
    if not notes:
        print(
            "limit: none seen (bare above its floor, wrk below saturation, every server busy): the servers were the limit"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=4, help="seconds per wrk run (default 4)")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds (default 5)")
    parser.add_argument("--cases", help=f"comma-separated, of: {', '.join(CASES)} (default all)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--compare", metavar="REV", help="also run the mock at git revision REV, alternated with this tree"
    )
    mode.add_argument("--proxy", action="store_true", help="the proxy in front of a mock, against the mock alone")
    parser.add_argument(
        "--floor", type=float, default=BARE_FLOOR, help=f"bare's expected req/s on GET one (default {BARE_FLOOR:,.0f})"
    )
    args = parser.parse_args()
    require_wrk()
    cases = [c.strip() for c in args.cases.split(",")] if args.cases else list(CASES)
    unknown = set(cases) - set(CASES)
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(sorted(unknown))}")
    kind = "compare" if args.compare else "proxy" if args.proxy else "mock"
    with (
        tempfile.TemporaryDirectory(prefix="convo-throughput-") as tmp,
        servers(kind, args.compare, Path(tmp)) as found,
    ):
        results = measure(found, cases, args.rounds, args.duration, Path(tmp))
    print_table(results, args.floor)


if __name__ == "__main__":
    main()
