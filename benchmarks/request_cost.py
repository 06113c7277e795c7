"""CPU time per request through the whole mock app (middleware, journal, validation, handler),
driven in-process without sockets: robust on a busy shared machine where req/s over HTTP
swings by 2x. Compare two checkouts by running this file with each on PYTHONPATH:

    PYTHONPATH=. python benchmarks/request_cost.py [--requests 20000] [--rounds 5]
    PYTHONPATH=/path/to/other/checkout python benchmarks/request_cost.py

Prints the best round's µs of process CPU time per request, per case.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from mockserver.app import create_app
from specs.auth import scheme_of

# ASGI header names are lower case.
RT = {k.lower(): v for k, v in scheme_of("runtype").headers("demo-alice").items()}
SP = {k.lower(): v for k, v in scheme_of("systemprompt").headers("demo-alice").items()}

CASES: dict[str, tuple[str, str, dict[str, str], bytes]] = {
    "runtype GET one": ("GET", "/v1/conversations/conv_demo1_1", RT, b""),
    'runtype PUT {"title":"x"}': (
        "PUT",
        "/v1/conversations/conv_demo1_1",
        {**RT, "content-type": "application/json"},
        b'{"title": "x"}',
    ),
    "runtype list limit=20": ("GET", "/v1/conversations", RT, b""),
    "systemprompt GET one": (
        "GET",
        "/v1/conversation/497f6eca-6276-4993-bfeb-53cbbbba6f08",
        SP,
        b"",
    ),
}


async def drive(app: Any, method: str, path: str, headers: dict[str, str], body: bytes, n: int) -> None:
    raw = [(b"host", b"127.0.0.1:8000"), *((k.encode(), v.encode()) for k, v in headers.items())]
    query = b"limit=20" if path == "/v1/conversations" else b""
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(n):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, receive, send)
    if any(status >= 300 for status in statuses):
        raise SystemExit(f"{method} {path} answered {sorted(set(statuses))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    app = create_app()
    print(f"{'case':<30} {'µs CPU/request (best of ' + str(args.rounds) + ')':>32}")
    for name, (method, path, headers, body) in CASES.items():
        best = float("inf")
        for _ in range(args.rounds):
            started = time.process_time()
            asyncio.run(drive(app, method, path, headers, body, args.requests))
            best = min(best, (time.process_time() - started) / args.requests * 1e6)
        print(f"{name:<30} {best:>32.1f}")


if __name__ == "__main__":
    main()
