"""How long other clients wait while 1 MB JSON bodies arrive: p50/p99 of small GETs sent
while 4 writers send 1 MB bodies (wide and shallow, many brackets), either refused after
parsing (a title of the wrong type) or accepted (each writer replaces the metadata of its
own conversation, so memory stays flat), for the mock as shipped (large bodies parsed and
checked by one worker thread at a time, the garbage collector paused meanwhile) and the
`inline-parse` variant (everything on the event loop).

    python benchmarks/big_bodies.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from typing import Any

import httpx
from _servers import ROOT, free_port, start, stop

from specs.auth import scheme_of

AUTH = scheme_of("runtype").headers("demo-alice")


def run(variant: str, seconds: float, accepted: bool) -> tuple[float, float, int, int]:
    port = free_port()
    proc = start(
        [sys.executable, str(ROOT / "benchmarks" / "variants.py"), variant, str(port)], port, 0, "/__mock__/health"
    )
    base = f"http://127.0.0.1:{port}"
    stop_at = time.monotonic() + seconds
    posted = multiprocessing.Value("i", 0)
    # Writers in processes of their own: their work must not slow the measuring client.
    writers = [multiprocessing.Process(target=_write, args=(base, stop_at, posted, accepted)) for _ in range(4)]
    for w in writers:
        w.start()
    latencies: list[float] = []
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            client.get("/v1/conversations/conv_demo1_1")
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)
    for w in writers:
        w.join()
    stop(proc)
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99)], len(latencies), posted.value


def _write(base: str, stop_at: float, posted: Any, accepted: bool) -> None:
    # Refused: a title of the wrong type, parsed in full, then refused by validation (400).
    body = json.dumps({"title": "big" if accepted else 5, "metadata": {"k": [[i] for i in range(105_000)]}}).encode()
    assert len(body) < 1024 * 1024
    with httpx.Client(base_url=base, headers={**AUTH, "Content-Type": "application/json"}, timeout=60) as client:
        own = client.post("/v1/conversations", content=b'{"title": "mine"}').json()["id"]
        while time.monotonic() < stop_at:
            if accepted:
                client.put(f"/v1/conversations/{own}", content=body).raise_for_status()
            else:
                client.post("/v1/conversations", content=body)
            with posted.get_lock():
                posted.value += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(f"{'variant':<14}{'1 MB bodies':<13}{'GET p50 ms':>12}{'GET p99 ms':>12}{'GETs':>7}{'1 MB sent':>11}")
    for accepted in (False, True):
        for variant in ("inline-parse", "mock", "small-journal"):
            p50, p99, gets, posts = run(variant, args.seconds, accepted)
            kind = "accepted" if accepted else "refused"
            print(f"{variant:<14}{kind:<13}{p50:>12.1f}{p99:>12.1f}{gets:>7}{posts:>11}")


if __name__ == "__main__":
    main()
