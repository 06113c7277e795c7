"""List-page latency and memory as one tenant's Runtype conversations grow.

For 100, 10,000 and 100,000 stored conversations of the demo shape: p50 and p99 of the first
page and of a deep page (reached through cursors, 90% of the way down), and the mock's
resident memory, from which the memory per stored conversation follows.

    python benchmarks/list_scaling.py [--sizes 100,10000,100000] [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from _servers import free_port, mock_command, rss_kib, start, stop

from specs.auth import scheme_of

KEY = "bench-key"
HEADERS = scheme_of("runtype").headers(KEY)


def seed(n: int) -> dict[str, object]:
    conversations = [
        {
            "id": f"conv_bench_{i:06d}",
            "title": f"Help with Python #{i}",
            "modelId": "claude-sonnet-4-5",
            "systemPrompt": "You are a coding assistant.",
            "ownerId": f"user_{i % 50}",
            "metadata": {"topic": "programming"},
            "messages": [
                {
                    "id": "msg_1",
                    "role": "user",
                    "content": "Help me write a function",
                    "timestamp": "2024-06-01T09:10:00Z",
                },
                {
                    "id": "msg_2",
                    "role": "assistant",
                    "content": "Sure! What kind of function would you like?",
                    "timestamp": "2024-06-01T09:11:00Z",
                },
            ],
            "source": "app",
            "createdAt": "2024-06-01T09:10:00Z",
            "updatedAt": "2024-06-01T09:12:00Z",
        }
        for i in range(n)
    ]
    return {"tenants": {KEY: {"runtype": conversations, "systemprompt": []}}}


def latencies(client: httpx.Client, params: dict[str, str | int], count: int) -> tuple[float, float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get("/v1/conversations", params=params)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def deep_cursor(client: httpx.Client, n: int) -> str | None:
    cursor: str | None = None
    walked = 0
    while walked < n * 0.9:
        page = client.get("/v1/conversations", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        walked += len(page["conversations"])
        cursor = page["pagination"]["nextCursor"]
        assert cursor
    return cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start(mock_command(port, "--empty", "--key", KEY), port, 0, "/__mock__/health")
        baseline = rss_kib(proc.pid)
        stop(proc)
        for n in sizes:
            path = Path(tmp) / f"seed-{n}.json"
            path.write_text(json.dumps(seed(n)))
            port = free_port()
            proc = start(
                mock_command(port, "--seed", str(path), "--key", KEY), port, 0, "/__mock__/health", timeout=600
            )
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=30) as client:
                    first = latencies(client, {"limit": 20}, args.requests)
                    cursor = deep_cursor(client, n) if n > 100 else None
                    deep = latencies(client, {"limit": 20, "cursor": cursor}, args.requests) if cursor else first
                    filtered = latencies(client, {"limit": 20, "ownerId": "user_7"}, args.requests)
                rss = rss_kib(proc.pid)
            finally:
                stop(proc)
            rows.append((n, first, deep, filtered, rss, (rss - baseline) * 1024 / n))
    print(
        f"\n{'stored':>8} {'first p50':>10} {'first p99':>10} {'deep p50':>9} {'deep p99':>9} {'ownerId p50':>12} {'RSS MiB':>8} {'bytes/conv':>11}"
    )
    for n, first, deep, filtered, rss, per in rows:
        print(
            f"{n:>8,} {first[0]:>9.2f}ms {first[1]:>9.2f}ms {deep[0]:>8.2f}ms {deep[1]:>8.2f}ms {filtered[0]:>11.2f}ms {rss / 1024:>8.1f} {per:>11,.0f}"
        )
    smallest, largest = rows[0], rows[-1]
    print(
        f"\nfirst page at {largest[0]:,} / at {smallest[0]:,}: {largest[1][0] / smallest[1][0]:.2f}x; deep page: {largest[2][0] / smallest[1][0]:.2f}x"
    )


if __name__ == "__main__":
    main()
