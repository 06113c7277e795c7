"""Requests/s, p50 and p99 of the mock beside bare Starlette (the stack's ceiling) and, when
Node's npx is available, Prism mocking the same specs.

The proxy row (`--upstream`, issue #11) puts the proxy in front of the mock. The proxy gets
core 0, as each server measured alone does, so the ratio compares what one core serves as a
proxy (forwarding and checking both ways) with what it serves as the mock; the mock behind it
shares core 1 with wrk, as a real upstream would not cost the proxy's machine anything.

Each server is pinned to core 0, wrk to core 1; keep-alive, 32 connections, a warm-up, then
ROUNDS rounds of DURATION seconds; medians are reported. Every request carries auth and the
mock validates it, as in normal use.

    python benchmarks/throughput.py [--duration 10] [--rounds 3] [--no-prism] [--only-proxy]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from _servers import ROOT, free_port, mock_command, start, stop

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


def wrk_script(method: str, headers: dict[str, str], body: str | None) -> str:
    lines = [f'wrk.method = "{method}"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = '{body}'")
    return "\n".join(lines) + "\n"


def to_ms(value: str) -> float:
    """wrk's latency text (e.g. 812.00us, 4.31ms, 1.20s, 1.01m) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        print(f"  warning: wrk printed a latency of {value!r}", file=sys.stderr)
        return float("nan")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]


def wrk(url: str, script: Path, seconds: int, connections: int = 32) -> tuple[float, float, float, int]:
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = to_ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(non2xx.group(1)) if non2xx else 0


def measure(
    base: str, case: str, rounds: int, seconds: int, workdir: Path, connections: int = 32
) -> tuple[float, float, float]:
    method, path, headers, body = CASES[case]
    script = workdir / "case.lua"
    script.write_text(wrk_script(method, headers, body))
    wrk(base + path, script, 2, connections)  # warm-up
    results = [wrk(base + path, script, seconds, connections) for _ in range(rounds)]
    if any(r[3] for r in results):
        print(f"  warning: {base}{path} answered non-2xx", file=sys.stderr)
    return (
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        statistics.median(r[2] for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-prism", action="store_true")
    parser.add_argument("--only-proxy", action="store_true", help="measure the mock and the proxy only")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")

    servers: dict[str, dict[str, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        proc = start(mock_command(port), port, 0, "/__mock__/health")
        try:
            servers["mock"] = {
                c: measure(f"http://127.0.0.1:{port}", c, args.rounds, args.duration, workdir) for c in CASES
            }
        finally:
            stop(proc)
        servers["proxy"] = measure_proxy(args.rounds, args.duration, workdir)
        unloaded_latency(args.rounds, workdir)
        if args.only_proxy:
            print_table(servers)
            return
        port = free_port()
        bare = [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--app-dir",
            str(ROOT / "benchmarks"),
            "--port",
            str(port),
            "--log-level",
            "error",
            "--no-access-log",
        ]
        proc = start(bare, port, 0, "/")
        try:
            servers["bare Starlette"] = {
                c: measure(f"http://127.0.0.1:{port}", c, args.rounds, args.duration, workdir) for c in CASES
            }
        finally:
            stop(proc)
        if not args.no_prism and shutil.which("npx"):
            servers["Prism"] = {}
            for api in ("runtype", "systemprompt"):
                port = free_port()
                prism = [
                    "npx",
                    "-y",
                    "@stoplight/prism-cli@5",
                    "mock",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-v",
                    "silent",
                    str(ROOT / "specs" / f"{api}.yaml"),
                ]
                try:
                    proc = start(
                        prism, port, 0, "/v1/conversations", headers=scheme_of("runtype").headers("x"), timeout=300
                    )
                except RuntimeError as exc:
                    print(f"Prism skipped: {exc}", file=sys.stderr)
                    del servers["Prism"]
                    break
                try:
                    for case in CASES:
                        if case.startswith(api):
                            servers["Prism"][case] = measure(
                                f"http://127.0.0.1:{port}", case, args.rounds, args.duration, workdir
                            )
                finally:
                    stop(proc)

    print_table(servers)


@contextlib.contextmanager
def proxy_in_front() -> Iterator[tuple[str, str]]:
    """A mock (on core 1) and the proxy (`--upstream`, on core 0) in front of it: (direct, proxied) URLs."""
    upstream_port, proxy_port = free_port(), free_port()
    upstream = start(mock_command(upstream_port), upstream_port, 1, "/__mock__/health")
    try:
        proxy_command = mock_command(proxy_port, "--upstream", f"http://127.0.0.1:{upstream_port}")
        proxy = start(proxy_command, proxy_port, 0, "/__mock__/health")
        try:
            yield f"http://127.0.0.1:{upstream_port}", f"http://127.0.0.1:{proxy_port}"
        finally:
            stop(proxy)
    finally:
        stop(upstream)


def measure_proxy(rounds: int, seconds: int, workdir: Path) -> dict[str, tuple[float, float, float]]:
    """The proxy in front of the mock, under the same load as the mock alone."""
    with proxy_in_front() as (_direct, proxied):
        return {c: measure(proxied, c, rounds, seconds, workdir) for c in CASES}


def unloaded_latency(rounds: int, workdir: Path) -> None:
    """p50 with one connection: the latency the proxy adds to a single request, without queueing."""
    case = "runtype GET one"
    with proxy_in_front() as (direct_url, proxied_url):
        direct = measure(direct_url, case, rounds, 5, workdir, connections=1)
        proxied = measure(proxied_url, case, rounds, 5, workdir, connections=1)
    print(
        f"\none connection, {case}: mock p50 {direct[1]:.3f} ms, through the proxy p50 {proxied[1]:.3f} ms "
        f"(added {proxied[1] - direct[1]:.3f} ms); req/s {direct[0]:,.0f} vs {proxied[0]:,.0f}"
    )


def print_table(servers: dict[str, dict[str, tuple[float, float, float]]]) -> None:
    bare, prism = "bare Starlette" in servers, "Prism" in servers
    print(
        f"\n{'case':<28}"
        + "".join(f"{name + ' req/s':>20}{'p50 ms':>9}{'p99 ms':>9}" for name in servers)
        + f"{'proxy/mock':>12}{'p50 added':>11}"
        + (f"{'mock/bare':>11}" if bare else "")
        + (f"{'mock/Prism':>12}" if prism else "")
    )
    for case in CASES:
        row = f"{case:<28}"
        for name in servers:
            rps, p50, p99 = servers[name].get(case, (float("nan"),) * 3)
            row += f"{rps:>20,.0f}{p50:>9.2f}{p99:>9.2f}"
        mock, proxy = servers["mock"][case], servers["proxy"][case]
        row += f"{proxy[0] / mock[0]:>11.0%} {proxy[1] - mock[1]:>8.2f}ms"
        if bare:
            row += f"{mock[0] / servers['bare Starlette'][case][0]:>10.0%} "
        if prism and case in servers["Prism"]:
            row += f"{mock[0] / servers['Prism'][case][0]:>11.1f}x"
        print(row)


if __name__ == "__main__":
    main()
