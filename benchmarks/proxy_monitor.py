"""The proxy as a behaviour monitor (issue 19): what it catches from traffic alone, and what it
costs.

Detection: every server of corpus/broken.py behind the proxy, one fixed traffic script
(corpus/traffic.py: every operation of both APIs; valid calls, lists with limit, cursor and
filters, pages, missing and wrong keys, invalid bodies, unknown ids, sequences over time).
Per fault, caught (a violation about the server's answers) or missed by: the proxy's shape
checks alone (each answer against the spec, as before the monitor), the monitor, the monitor
with --sole-writer, and Prism's proxy (`prism proxy SPEC UPSTREAM`, when `prism` is on PATH
or given with --prism; skipped with a message otherwise). The three proxies of ours sit in a
row (corpus/traffic.py `proxy_chain`), so they see the same traffic and the same answers.
Prism runs transparently by default, as ours does (it logs `Violation: request…` /
`Violation: response…`); with --prism-errors it gets `--errors`, and then answers invalid
requests itself without forwarding them. Then every server of corpus/conforming.py (and the
plain mock): zero violations required of each of ours.

Cost (--cost): the proxy with the monitor on and off, side by side in one run, under wrk with
throughput.py's cases: CPU time the proxy process spends per request (from /proc, which the
other processes of a shared machine do not disturb much) and requests/s (which they do); and
the proxy's resident memory over a long run of distinct ids (--long-run N); with --callgrind N,
the instructions the proxy process runs per request (valgrind; exact on a busy machine).

    python benchmarks/proxy_monitor.py [--faults a,b] [--prism PATH] [--no-prism] [--prism-errors]
    python benchmarks/proxy_monitor.py --cost [--duration 5] [--rounds 3] [--long-run 12000] [--callgrind 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _harness import wrk_script  # noqa: E402
from _servers import free_port, mock_command, rss_kib, start, stop  # noqa: E402
from starlette.types import ASGIApp, Receive, Scope, Send  # noqa: E402
from throughput import CASES  # noqa: E402

import specs  # noqa: E402
from corpus.broken import FAULTS, FaultyApp  # noqa: E402
from corpus.conforming import CHOICES  # noqa: E402
from corpus.traffic import MODES, Traffic, proxy_chain, server_findings  # noqa: E402
from mockserver.background import BackgroundServer  # noqa: E402
from mockserver.proxy.exchange import UNPARSED, Exchange  # noqa: E402
from mockserver.proxy.monitor import Monitor  # noqa: E402
from mockserver.proxy.state_tracker import TRACKED_IDS  # noqa: E402
from mockserver.proxy.traffic_check import OperationChecks  # noqa: E402
from specs.auth import scheme_of  # noqa: E402

# --- detection ----------------------------------------------------------------------------


def ours(app: Any) -> tuple[dict[str, bool], dict[str, list[str]], int]:
    """The script through our three proxies: per mode, caught? and the rules; requests sent."""
    with proxy_chain(app) as urls:
        sent = Traffic(urls["shape"], urls["shape"]).run()
        found = {mode: server_findings(urls[mode]) for mode in MODES}
    return {m: bool(found[m]) for m in MODES}, {m: sorted({v["rule"] for v in found[m]}) for m in MODES}, sent


class Switch:
    """The upstream Prism proxies to: whichever server is being measured now."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class Prism:
    """One `prism proxy` per spec in front of a Switch; its log lines read as they come."""

    def __init__(self, binary: str, errors: bool) -> None:
        self.switch = Switch(FaultyApp(None))
        self.upstream = BackgroundServer(self.switch).start()
        self.lines: list[str] = []
        self.procs: list[subprocess.Popen[str]] = []
        self.urls: dict[str, str] = {}
        for api in ("runtype", "systemprompt"):
            port = free_port()
            command = [binary, "proxy", str(ROOT / "specs" / f"{api}.yaml"), self.upstream.base_url]
            command += ["-p", str(port), "-h", "127.0.0.1", *(["--errors"] if errors else [])]
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.procs.append(proc)
            threading.Thread(target=self._read, args=(proc,), daemon=True).start()
            self.urls[api] = f"http://127.0.0.1:{port}"
            self._wait(self.urls[api], proc)

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip())

    @staticmethod
    def _wait(url: str, proc: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"prism exited with {proc.returncode}")
            try:
                httpx.get(url + "/v1/conversations", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("prism did not start within 120 s")

    def run(self, app: ASGIApp) -> list[str]:
        """The script through Prism in front of `app`: its response violations."""
        self.switch.app = app
        before = len(self.lines)
        Traffic(self.urls["runtype"], self.urls["systemprompt"]).run()
        time.sleep(0.5)  # the last log lines
        seen = self.lines[before:]
        return [_plain(line) for line in seen if "Violation: response" in line or "errors#VIOLATIONS" in line]

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        self.upstream.stop()


def _plain(line: str) -> str:
    """A Prism log line without its time and colours, and without ids that change each run."""
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    line = re.sub(r"^\[[^\]]*\]\s*", "", line)
    return re.sub(r"conv_[0-9a-f]+", "conv_…", line)


def find_prism(args: argparse.Namespace) -> str | None:
    if args.no_prism:
        return None
    return args.prism or shutil.which("prism")


def detection(args: argparse.Namespace) -> None:
    chosen = [f for f in FAULTS if not args.faults or f.name in args.faults.split(",")]
    binary = find_prism(args)
    prism: Prism | None = None
    if binary is None:
        print("Prism: skipped (no `prism` on PATH: `npm install @stoplight/prism-cli` in a temp folder, then --prism)")
    else:
        prism = Prism(binary, args.prism_errors)
    try:
        clean_prism = set(prism.run(FaultyApp(None))) if prism else set()
        rows = []
        _, _, sent = ours(FaultyApp(None))
        for fault in chosen:
            caught, found_rules, _ = ours(FaultyApp(fault))
            prism_caught = None
            if prism is not None:
                prism_caught = bool(set(prism.run(FaultyApp(fault))) - clean_prism)
            rows.append((fault, caught, found_rules, prism_caught))
        print_detection(rows, sent, prism is not None)
        conforming(prism, clean_prism)
    finally:
        if prism is not None:
            prism.close()


def print_detection(rows: list[Any], sent: int, with_prism: bool) -> None:
    columns = ["shape", "monitor", "sole-writer", *(["Prism"] if with_prism else [])]
    print(f"\n{len(rows)} faults of corpus/broken.py behind the proxy, {sent} requests each (corpus/traffic.py)\n")
    head = (
        f"{'fault':<40} {'the suite catches it by':<38}"
        + "".join(f"{c:>12}" for c in columns)
        + "  rules (sole-writer)"
    )
    print(head)
    print("-" * len(head))
    totals = dict.fromkeys(columns, 0)
    for fault, caught, found_rules, prism_caught in rows:
        marks = [caught[m] for m in MODES] + ([prism_caught] if with_prism else [])
        for column, mark in zip(columns, marks, strict=True):
            totals[column] += bool(mark)
        suite = f"{fault.family} · {fault.check}"
        print(
            f"{fault.name:<40} {suite:<44}"
            + "".join(f"{'✓' if mark else '·':>12}" for mark in marks)
            + f"  {', '.join(found_rules['sole-writer'])}"
        )
    print("-" * len(head))
    print(f"{'caught':<40} {'':<44}" + "".join(f"{totals[c]:>12}" for c in columns))
    shape = totals["shape"] or 1
    print(
        f"\nmonitor / shape checks: {totals['monitor'] / shape:.1f}x by default, "
        f"{totals['sole-writer'] / shape:.1f}x with --sole-writer (caught = a violation about the server's answers)"
    )


def conforming(prism: Prism | None, clean_prism: set[str]) -> None:
    print(f"\nconforming servers behind the proxy (corpus/conforming.py and the plain mock): violations by {MODES}")
    servers: list[tuple[str, Callable[[], Any]]] = [("mock", lambda: FaultyApp(None))]
    servers += [(c.name, c.app) for c in CHOICES]
    false_alarms = 0
    for name, app in servers:
        with proxy_chain(app()) as urls:
            Traffic(urls["shape"], urls["shape"]).run()
            found = [len(server_findings(urls[m])) for m in MODES]
            observed = len(server_findings(urls["sole-writer"], "observation"))
        false_alarms += sum(found)
        extra = ""
        if prism is not None:
            prism_found = len(set(prism.run(app())) - clean_prism)
            extra = f"; Prism: {prism_found} response violation(s) beyond the plain mock's"
        print(f"  {name:<28} {found[0]} / {found[1]} / {found[2]}  ({observed} observation(s)){extra}")
    if clean_prism:
        print(f"  (Prism reports {len(clean_prism)} response violation(s) on the plain mock itself)")
    print(f"  total violations on conforming servers: {false_alarms}" + ("" if false_alarms else " (none)"))


# --- cost -----------------------------------------------------------------------------------


SERVE = """
import gc, sys, uvicorn
from mockserver import MockConfig, create_app
from mockserver.protocol import bounded_protocol
from mockserver.proxy.endpoint import GC_THRESHOLDS
port, upstream, monitor = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "on"
config = MockConfig(upstreams=(("runtype", upstream), ("systemprompt", upstream)), behaviour_monitor=monitor)
gc.set_threshold(*GC_THRESHOLDS)  # as cli.py sets it in proxy mode
uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="error", access_log=False,
            http=bounded_protocol(config.max_header_bytes, config.head_timeout))
"""


def proxy_command(port: int, upstream: str, monitor: bool) -> list[str]:
    return [sys.executable, "-c", SERVE, str(port), upstream, "on" if monitor else "off"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, script: Path, seconds: int) -> tuple[float, int]:
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", "-c32", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, requests


@contextlib.contextmanager
def proxies() -> Iterator[dict[bool, tuple[str, int]]]:
    """The mock (core 1) and two proxies in front of it (core 0), monitor off and on."""
    upstream_port = free_port()
    upstream = start(mock_command(upstream_port), upstream_port, 1, "/__mock__/health")
    started = []
    try:
        urls: dict[bool, tuple[str, int]] = {}
        for monitor in (False, True):
            port = free_port()
            proc = start(proxy_command(port, f"http://127.0.0.1:{upstream_port}", monitor), port, 0, "/__mock__/health")
            started.append(proc)
            urls[monitor] = (f"http://127.0.0.1:{port}", proc.pid)
        yield urls
    finally:
        for proc in started:
            stop(proc)
        stop(upstream)


def _exchange(case: str, answer: Any, sent: Any) -> Exchange:
    """throughput.py's case as the proxy hands it to the monitor, bodies parsed (as the shape
    checks leave them)."""
    method, path, headers, body = CASES[case]
    api = "runtype" if case.startswith("runtype") else "systemprompt"
    template, _, query = path.partition("?")
    op, found = next(
        (op, found)
        for op in specs.load(api).operations
        if op.method == method and (found := re.match("^" + re.sub(r"\{[^}]+\}", "([^/]+)", op.path) + "$", template))
    )
    names = [p["name"] for p in op.parameters if p["in"] == "path"]
    lowered = {k.lower(): v for k, v in headers.items()}
    return Exchange(
        api=api,
        method=method,
        path=template,
        query_string=query.encode(),
        target=b"",
        raw_headers=[],
        headers=lowered,
        path_params=dict(zip(names, found.groups(), strict=True)),
        checks=OperationChecks(op),
        credential=scheme_of(api).credential(lowered).token,
        body=(body or "").encode(),
        request_json=sent,
        status=200,
        response_body=orjson.dumps(answer),
        response_json=answer,
    )


def _answers() -> dict[str, Any]:
    """Each case's answer from the plain mock, as the proxy would parse it."""
    mock = FaultyApp(None).mock
    answers: dict[str, Any] = {}

    async def fetch() -> None:
        transport = httpx.ASGITransport(app=mock)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for case, (method, path, headers, body) in CASES.items():
                answers[case] = (await client.request(method, path, headers=headers, content=body)).json()

    asyncio.run(fetch())
    return answers


def _feeds(case: str, answers: dict[str, Any], count: int) -> tuple[Exchange, list[tuple[Any, bytes]]]:
    """The case's exchange and `count` answers to it (parsed, and as sent)."""
    body = CASES[case][3]
    exchange = _exchange(case, answers[case], orjson.loads(body) if body else UNPARSED)
    # An update's answers carry an updatedAt later each time, as the service's do.
    stamps = [
        f"2030-01-01T00:{n // 60_000_000:02d}:{n // 1_000_000 % 60:02d}.{n % 1_000_000:06d}Z" for n in range(count)
    ]
    shown = [{**answers[case], "updatedAt": stamp} for stamp in stamps] if body else [answers[case]] * count
    return exchange, [(answer, orjson.dumps(answer)) for answer in shown]  # as the service sent them


def _through(monitor: Monitor, exchange: Exchange, feeds: list[tuple[Any, bytes]]) -> None:
    for answer, raw in feeds:
        exchange.response_json, exchange.response_body = answer, raw
        monitor.begin(exchange)
        monitor.end(exchange)
    assert not exchange.behaviour_findings, exchange.behaviour_findings


def monitor_cost(rounds: int, count: int = 20_000) -> dict[str, float]:
    """CPU µs the monitor spends on each case's exchange (begin and end), in-process. A warm
    loop: the same code in a proxy, among the rest of each request, runs slower per instruction
    (`monitor_loop` under callgrind counts what it does)."""
    answers = _answers()
    result = {}
    for case in CASES:
        exchange, feeds = _feeds(case, answers, count * rounds)
        monitor = Monitor()
        times = []
        for round_ in range(rounds):
            started = time.process_time()
            _through(monitor, exchange, feeds[round_ * count : (round_ + 1) * count])
            times.append((time.process_time() - started) / count * 1e6)
        result[case] = statistics.median(times)
    return result


def monitor_loop(case: str, count: int, run: bool) -> None:
    """A monitor that saw the cases before `case` once (as the proxy's did, serving them in
    turn), then `count` exchanges of `case` (when `run`): under callgrind with and without, the
    difference is the monitor's instructions per exchange (the answers are made in both)."""
    answers = _answers()
    monitor = Monitor()
    before = list(CASES)[: list(CASES).index(case)]
    for each in before:  # the mock's answers to the cases served before this one
        body = CASES[each][3]
        seen = _exchange(each, answers[each], orjson.loads(body) if body else UNPARSED)
        _through(monitor, seen, [(answers[each], orjson.dumps(answers[each]))])
    exchange, feeds = _feeds(case, answers, count + 1)
    if run:
        _through(monitor, exchange, feeds[1:])


def monitor_instructions(requests: int) -> dict[str, float]:
    """The monitor's own instructions per exchange, in-process (`monitor_loop`, callgrind)."""
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for number, case in enumerate(CASES):
            totals = []
            for run in ("no", "yes"):
                out = Path(tmp) / f"loop.{number}.{run}"
                command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__]
                subprocess.run(
                    [*command, "--monitor-loop", case, str(requests), run],
                    capture_output=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"},  # the same start-up twice
                )  # fmt: skip
                found = re.search(r"^totals:\s+(\d+)", out.read_text(), re.M)
                totals.append(int(found.group(1)) if found else 0)
            counts[case] = (totals[1] - totals[0]) / requests
    return counts


def cost(args: argparse.Namespace) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for --cost: apt-get install -y wrk")
    in_process = monitor_cost(args.rounds)
    print("\nthe monitor in-process (begin and end of one exchange, bodies already parsed), CPU µs:")
    for case, micros in in_process.items():
        print(f"  {case:<28}{micros:>8.1f}")
    print(f"\nthe proxy's cost with the monitor on vs off ({args.rounds} rounds of {args.duration} s, alternating)")
    print(
        f"{'case':<28}{'CPU µs/req off':>16}{'on':>9}{'off/on':>9}{'req/s off':>12}{'on':>9}{'on/off':>9}"
        f"{'in-process':>11}"
    )
    with proxies() as urls, tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "case.lua"
        for case, (method, path, headers, body) in CASES.items():
            script.write_text(wrk_script(method, headers, body))
            cpu: dict[bool, list[float]] = {False: [], True: []}
            rps: dict[bool, list[float]] = {False: [], True: []}
            for monitor in (False, True):
                load(urls[monitor][0] + path, script, 2)  # warm-up
            for _ in range(args.rounds):
                for monitor in (False, True):
                    url, pid = urls[monitor]
                    before = cpu_seconds(pid)
                    rate, requests = load(url + path, script, args.duration)
                    cpu[monitor].append((cpu_seconds(pid) - before) / requests * 1e6)
                    rps[monitor].append(rate)
            off, on = statistics.median(cpu[False]), statistics.median(cpu[True])
            r_off, r_on = statistics.median(rps[False]), statistics.median(rps[True])
            predicted = off / (off + in_process[case])
            print(
                f"{case:<28}{off:>16.0f}{on:>9.0f}{off / on:>9.2f}{r_off:>12,.0f}{r_on:>9,.0f}{r_on / r_off:>9.2f}"
                f"{predicted:>11.2f}"
            )
    print("  off/on: the throughput ratio the proxy's CPU time per request predicts (1.0 = free); on/off: as")
    print("  measured (noisy on a shared machine); in-process: off / (off + the monitor's in-process cost)")
    if args.callgrind:
        instructions(args.callgrind)
    long_run(args.long_run)


def control(pid: int, *options: str) -> None:
    subprocess.run(["callgrind_control", *options, str(pid)], capture_output=True, check=True)


def instructions(requests: int) -> None:
    """Instructions the proxy process runs per request, monitor off and on (valgrind's callgrind,
    counting only while the requests are served): exact, whatever else the machine is doing."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("\ninstruction counts: skipped (valgrind is not installed)")
        return
    print(f"\ninstructions per request (callgrind, {requests} sequential requests per case after 20 to warm up)")
    upstream_port = free_port()
    upstream = start(mock_command(upstream_port), upstream_port, None, "/__mock__/health")
    counts: dict[tuple[str, bool], float] = {}
    try:
        for monitor in (False, True):
            port = free_port()
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "callgrind.out"
                command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p"]
                command += proxy_command(port, f"http://127.0.0.1:{upstream_port}", monitor)
                proc = start(command, port, None, "/__mock__/health", timeout=900)
                try:
                    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                        for case, (method, path, headers, body) in CASES.items():
                            for _ in range(20):
                                client.request(method, path, headers=headers, content=body)
                            control(proc.pid, "-z")  # counts from zero, counting on
                            control(proc.pid, "-i", "on")
                            for _ in range(requests):
                                client.request(method, path, headers=headers, content=body)
                            control(proc.pid, "-i", "off")
                            control(proc.pid, "-d")  # dumped to a file of its own
                            dumps = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: p.stat().st_mtime)
                            totals = re.search(r"^totals:\s+(\d+)", dumps[-1].read_text(), re.M)
                            counts[(case, monitor)] = int(totals.group(1)) / requests if totals else float("nan")
                finally:
                    stop(proc)
    finally:
        stop(upstream)
    own = monitor_instructions(requests)
    print(f"{'case':<28}{'off':>12}{'on':>12}{'off/on':>9}{'on - off':>10}{'monitor':>9}")
    for case in CASES:
        off, on = counts[(case, False)], counts[(case, True)]
        print(f"{case:<28}{off:>12,.0f}{on:>12,.0f}{off / on:>9.3f}{on - off:>10,.0f}{own[case]:>9,.0f}")
    total_off = sum(counts[(c, False)] for c in CASES)
    total_on = sum(counts[(c, True)] for c in CASES)
    print(f"{'the four together':<28}{total_off:>12,.0f}{total_on:>12,.0f}{total_off / total_on:>9.3f}")
    print("  off/on: the throughput ratio the instruction counts predict (1.0 = the monitor is free)")
    print("  monitor: its own instructions per exchange in-process (begin and end, bodies parsed); about")
    print("  on - off: what the monitor switches on in the proxy is its own code")


def long_run(count: int) -> None:
    """Resident memory of a proxy (monitor on) over `count` distinct ids: created, updated, read,
    listed; flat once the tracker holds TRACKED_IDS of them."""
    print(f"\nmemory over a long run of {count:,} distinct ids (the tracker keeps {TRACKED_IDS:,}): proxy RSS")
    with proxies() as urls:
        url, pid = urls[True]
        headers = {"Authorization": "Bearer demo-alice"}

        async def one(client: httpx.AsyncClient, n: int) -> None:
            created = await client.post("/v1/conversations", json={"title": f"t{n}", "ownerId": f"o{n % 7}"})
            item = f"/v1/conversations/{created.json()['id']}"
            await client.put(item, json={"metadata": {"n": n}})
            await client.get(item)
            if n % 10 == 0:
                await client.get("/v1/conversations", params={"ownerId": f"o{n % 7}", "limit": 5})

        async def run() -> None:
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
                step = max(count // 8, 1)
                for start_at in range(0, count, step):
                    for batch in range(start_at, min(start_at + step, count), 16):
                        await asyncio.gather(*(one(client, n) for n in range(batch, min(batch + 16, count))))
                    print(f"  {min(start_at + step, count):>8,} ids: {rss_kib(pid) / 1024:7.1f} MiB", flush=True)

        asyncio.run(run())


# --- the command ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", help="comma-separated fault names (default: all)")
    parser.add_argument("--prism", help="the prism executable (default: `prism` on PATH)")
    parser.add_argument("--no-prism", action="store_true")
    parser.add_argument("--prism-errors", action="store_true", help="run Prism with --errors (not transparent)")
    parser.add_argument("--cost", action="store_true", help="measure the monitor's cost instead")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--long-run", type=int, default=12_000, help="distinct ids for the memory run")
    parser.add_argument(
        "--callgrind", type=int, metavar="N", default=0, help="with --cost: instructions per request over N requests"
    )
    parser.add_argument("--monitor-loop", nargs=3, metavar=("CASE", "N", "RUN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.monitor_loop:
        monitor_loop(args.monitor_loop[0], int(args.monitor_loop[1]), args.monitor_loop[2] == "yes")
        return
    # The proxies' own violation lines would drown the table.
    logging.getLogger("mockserver").addFilter(lambda record: False)
    logging.getLogger("mockserver.proxy.violations").addFilter(lambda record: False)
    if args.cost:
        cost(args)
    else:
        detection(args)


if __name__ == "__main__":
    main()
