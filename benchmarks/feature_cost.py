"""What each feature on the mock's hot path costs a request, in µs of CPU measured
in-process (no sockets, no second process: a busy machine blurs it far less than req/s).

    python benchmarks/feature_cost.py [--rounds 5] [--instructions]

First the whole request, end to end through uvicorn's own HTTP protocol (`_inprocess.py`),
for bare Starlette and the mock, beside each other. Then each feature's own work for one
request, on that request's real inputs (the scope as uvicorn parsed it): the Host/Origin
guard, CORS (with and without an Origin), the journal's capture, chaos and fault lookup,
routing, auth, parameter and body validation, the handler, serialisation. A feature that
is switched off shows what a request still pays for it; the sum of the optional ones when
all are off is printed against its budget (3 µs). `--instructions` adds callgrind's
instructions per whole request (slow; valgrind needed), the figure a busy machine cannot move.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from _inprocess import CASES, bare_config, connection, mock_config, per_request_us, run
from bare_app import app as bare_app

from mockserver.api.body import read_json_body
from mockserver.api.endpoint import OperationEndpoint, _Bound, _credential_headers
from mockserver.api.errors import send_json
from mockserver.api.request import ValidatedRequest
from mockserver.app import Front, Operations, create_app
from mockserver.config import MockConfig
from mockserver.control.chaos import NO_PREFERENCES
from mockserver.cors import Cors, with_vary
from mockserver.guard import Guard

OFF_BUDGET_US = 3.0
GET, PUT = "runtype GET one", 'runtype PUT {"title":"x"}'
ORIGIN = b"http://localhost:3000"


def scope_of(case: str) -> dict[str, Any]:
    """The scope uvicorn's protocol makes of the case's request bytes."""
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def drive() -> None:
        proto, _ = connection(mock_config(app))
        proto.data_received(CASES[case])
        while not seen:
            await asyncio.sleep(0)

    run(drive)
    return seen[0]


def each_us(work: Callable[[], Any], count: int, rounds: int) -> float:
    """Best of `rounds`: µs of CPU per call of `work`, less the loop's own cost."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(count):
            work()
        spent = time.process_time() - started
        started = time.process_time()
        for _ in range(count):
            pass
        best = min(best, (spent - (time.process_time() - started)) / count * 1e6)
    return max(best, 0.0)


def each_async_us(work: Callable[[], Any], count: int, rounds: int) -> float:
    """The same for a coroutine function, awaited on uvloop."""

    async def loop() -> float:
        started = time.process_time()
        for _ in range(count):
            await work()
        return time.process_time() - started

    return float(min(run(loop) for _ in range(rounds))) / count * 1e6


def features(rounds: int, count: int) -> list[tuple[str, str, float, float]]:
    """(feature, when, µs for GET one, µs for PUT) rows."""
    app = create_app(MockConfig())
    runtime = app.state.runtime
    # The pieces create_app built, as its middleware list holds them.
    given: dict[object, Any] = {cast(object, m.cls): m.kwargs for m in app.user_middleware}
    guard: Guard = given[Front]["guard"]
    cors: Cors = given[Front]["cors"]
    endpoints: list[tuple[str, Any]] = given[Operations]["endpoints"]
    operations = Operations(app.router, endpoints)
    rows: list[tuple[str, str, float, float]] = []
    scopes = {case: scope_of(case) for case in (GET, PUT)}

    def per_case(work: Callable[[dict[str, Any]], Callable[[], Any]], is_async: bool = False) -> tuple[float, float]:
        measure = each_async_us if is_async else each_us
        return measure(work(scopes[GET]), count, rounds), measure(work(scopes[PUT]), count, rounds)

    def guard_work(scope: dict[str, Any]) -> Callable[[], Any]:
        raw = scope["headers"]
        return lambda: guard.check(scope, dict(raw), sum(map(len, itertools.chain.from_iterable(raw))))

    rows.append(("Host/Origin guard", "always", *per_case(guard_work)))

    answer = [(b"content-length", b"600"), (b"content-type", b"application/json")]

    async def nothing(message: Any) -> None:
        pass

    def cors_off(scope: dict[str, Any]) -> Callable[[], Any]:
        # What a request without Origin pays: the check, Vary added, the wrapper's two hops.
        by_name = dict(scope["headers"])
        start = {"type": "http.response.start", "status": 200, "headers": answer}
        body = {"type": "http.response.body", "body": b"x" * 600}

        async def hop(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_vary(answer)
            await nothing(message)

        async def work() -> None:
            if b"origin" not in by_name:
                await hop(start)
                await hop(body)

        return work

    rows.append(("CORS", "no Origin (off)", *per_case(cors_off, is_async=True)))

    def cors_on(scope: dict[str, Any]) -> Callable[[], Any]:
        from starlette.datastructures import Headers

        with_origin = {**scope, "headers": [*scope["headers"], (b"origin", ORIGIN)]}

        async def work() -> None:
            headers = Headers(scope=with_origin)
            cors.preflight(with_origin, headers)
            await cors.send({"type": "http.response.start", "status": 200, "headers": list(answer)}, nothing, headers)
            await cors.send({"type": "http.response.body", "body": b"x"}, nothing, headers)

        return work

    rows.append(("CORS", "with an Origin", *per_case(cors_on, is_async=True)))

    from mockserver.control.journal import keep

    def journal_on(scope: dict[str, Any]) -> Callable[[], Any]:
        journal = runtime.journal
        body = b"x" * 600
        request = b'{"title": "x"}' if scope["method"] == "PUT" else b""

        def work() -> None:
            kept = keep(b"", request) if request else b""
            journal.record(scope, 0.0, 200, kept, len(request), answer, keep(b"", body), 600, 80)

        return work

    rows.append(("journal capture", "on (500 entries)", *per_case(journal_on)))
    rows.append(("journal capture", "off (--journal-size 0)", 0.0, 0.0))

    chaos = runtime.chaos

    def chaos_off(scope: dict[str, Any]) -> Callable[[], Any]:
        by_name = dict(scope["headers"])
        return lambda: b"prefer" in by_name or chaos.active

    rows.append(("chaos and fault rules", "none set (off)", *per_case(chaos_off)))

    def chaos_rule(scope: dict[str, Any]) -> Callable[[], Any]:
        bound = _bound(endpoints, scope)
        chaos.update({"faults": [{"status": 503, "operation": "deleteConversation"}]})
        return lambda: chaos.before(bound.operation, NO_PREFERENCES, lambda: None)

    rows.append(("chaos and fault rules", "a rule for another operation", *per_case(chaos_rule, is_async=True)))
    chaos.update({"faults": []})

    def routing(scope: dict[str, Any]) -> Callable[[], Any]:
        path = scope["path"]

        def work() -> None:
            if operations.exact.get(path) is None:
                for regex, _ in operations.patterns:
                    if regex.match(path) is not None:
                        break

        return work

    rows.append(("routing", "spec path → endpoint", *per_case(routing)))

    def auth(scope: dict[str, Any]) -> Callable[[], Any]:
        bound = _bound(endpoints, scope)
        by_name = dict(scope["headers"])
        return lambda: runtime.keys.authenticate_raw(bound.auth, by_name.get(bound.auth_header))

    rows.append(("auth", "key → tenant", *per_case(auth)))

    def parameters(scope: dict[str, Any]) -> Callable[[], Any]:
        validator = _bound(endpoints, scope).validator
        params = _path_params(operations, scope["path"])
        return lambda: validator.parameters(params, {})

    rows.append(("parameter validation", "path and query", *per_case(parameters)))

    def body(scope: dict[str, Any]) -> Callable[[], Any]:
        bound = _bound(endpoints, scope)
        by_name = dict(scope["headers"])
        message = {"type": "http.request", "body": b'{"title": "x"}', "more_body": False}

        async def receive() -> Any:
            return message

        config = runtime.config

        async def work() -> None:
            if bound.validator.takes_body:
                await read_json_body(
                    receive,
                    by_name,
                    required=bound.validator.body_required,
                    max_bytes=config.max_body,
                    max_depth=config.max_depth,
                    thread_above=config.parse_in_thread_bytes,
                    check=bound.validator.body,
                )

        return work

    rows.append(("body: read, parse, validate", "PUT only", *per_case(body, is_async=True)))

    def handler(scope: dict[str, Any]) -> Callable[[], Any]:
        bound = _bound(endpoints, scope)
        key = runtime.keys.authenticate(bound.auth, _credential_headers(bound, dict(scope["headers"])))
        params = bound.validator.parameters(_path_params(operations, scope["path"]), {})
        payload = {"title": "x"} if scope["method"] == "PUT" else None
        store, base = runtime.store, runtime.public_url(scope)
        return lambda: bound.handler(ValidatedRequest(store, key, params, payload, base))

    rows.append(("handler and store", "the operation's own work", *per_case(handler)))

    def serialise(scope: dict[str, Any]) -> Callable[[], Any]:
        conversation = runtime.store.runtype_get("demo-alice", "conv_demo1_1").to_json()
        return lambda: send_json(nothing, 200, conversation)

    rows.append(("serialisation", "JSON answer sent", *per_case(serialise, is_async=True)))
    return rows


def _bound(endpoints: list[tuple[str, Any]], scope: dict[str, Any]) -> _Bound:
    for _, endpoint in endpoints:
        if isinstance(endpoint, OperationEndpoint) and scope["method"] in endpoint.operations:
            bound = endpoint.operations[scope["method"]]
            if bound.operation.path.count("/") == scope["path"].count("/"):
                return bound
    raise LookupError(scope["path"])


def _path_params(operations: Operations, path: str) -> dict[str, str]:
    for regex, _ in operations.patterns:
        match = regex.match(path)
        if match is not None:
            return match.groupdict()
    return {}


def instructions(case: str, which: str) -> float:
    """callgrind's instructions per whole request (the difference of two runs' totals)."""

    def total(count: int) -> int:
        code = (
            "import sys; sys.path.insert(0, 'benchmarks')\n"
            "from _inprocess import CASES, per_request_us, bare_config, mock_config\n"
            + (
                "from bare_app import app; config = bare_config(app)\n"
                if which == "bare"
                else "from mockserver.app import create_app; config = mock_config(create_app())\n"
            )
            + f"per_request_us(config, CASES[{case!r}], 300, 1)\n"
            + (f"per_request_us(config, CASES[{case!r}], {count}, 1)\n" if count else "")
        )
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise SystemExit(f"callgrind failed: {done.stderr[-500:]}")
        return int(found.group(1))

    return (total(1000) - total(0)) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000, help="requests per round of a whole-request figure")
    parser.add_argument("--instructions", action="store_true", help="also count instructions with callgrind (slow)")
    args = parser.parse_args()
    if args.instructions and not shutil.which("valgrind"):
        sys.exit("--instructions needs valgrind: apt-get install -y valgrind")
    mock = create_app(MockConfig())
    print(f"{'whole request, in-process':<32}{'bare µs':>10}{'mock µs':>10}{'mock/bare':>11}", end="")
    print(f"{'bare instr':>13}{'mock instr':>13}" if args.instructions else "")
    for case, request in CASES.items():
        bare = per_request_us(bare_config(bare_app), request, args.requests, args.rounds)
        ours = per_request_us(mock_config(mock), request, args.requests, args.rounds)
        line = f"{case:<32}{bare:>10.1f}{ours:>10.1f}{bare / ours:>11.2f}"
        if args.instructions:
            line += f"{instructions(case, 'bare'):>13,.0f}{instructions(case, 'mock'):>13,.0f}"
        print(line)
    print(f"\n{'feature':<30}{'when':<32}{'GET one µs':>11}{'PUT µs':>9}")
    rows = features(args.rounds, 20_000)
    for feature, when, get, put in rows:
        print(f"{feature:<30}{when:<32}{get:>11.2f}{put:>9.2f}")
    off = [row for row in rows if "off" in row[1]]
    worst = max(sum(row[2] for row in off), sum(row[3] for row in off))
    verdict = "within" if worst <= OFF_BUDGET_US else "OVER"
    print(f"\noptional features all off ({', '.join(row[0] for row in off)}): {worst:.2f} µs a request, "
          f"{verdict} the budget of {OFF_BUDGET_US:g} µs")  # fmt: skip


if __name__ == "__main__":
    main()
