"""Dashboard load time with a full journal (500 entries) and 10,000 stored conversations, in
the system's headless Chromium (/usr/bin/chromium, driven by Playwright; nothing downloads a
browser). Prints the time from navigation until the 500 rows are on screen (the page's own
clock), median of ROUNDS loads; optionally saves a screenshot with one entry opened.

    python benchmarks/dashboard.py [--rounds 5] [--screenshot docs/dashboard.png]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import httpx
from _servers import free_port, mock_command, start, stop
from playwright.sync_api import sync_playwright

from specs.auth import scheme_of

KEY = "demo-alice"


def fill(base: str) -> None:
    many = [{"id": f"conv_{i:05d}", "title": f"Chat #{i}"} for i in range(10_000)]
    state = {"tenants": {KEY: {"runtype": many}, "demo-bob": {}}}
    httpx.put(base + "/__mock__/state", json=state, timeout=60).raise_for_status()
    rt = scheme_of("runtype").headers(KEY)
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(496):
            client.get(f"/v1/conversations/conv_{i * 17:05d}", headers=rt)
        client.post("/v1/conversations", json={"title": "Trip to Lisbon", "modelId": "claude-sonnet-4-5"}, headers=rt)
        client.get("/v1/conversations/conv_gone", headers=rt)
        client.get("/v1/conversations?limit=20", headers=scheme_of("runtype").headers("demo-bob"))
        client.get("/v1/conversations", headers={"X-Api-Key": "pasted-by-mistake"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    port = free_port()
    proc = start(mock_command(port), port, 0, "/__mock__/health")
    base = f"http://127.0.0.1:{port}"
    try:
        fill(base)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 820})
            times = []
            for _ in range(args.rounds):
                page.goto(base + "/__mock__/")
                page.locator("#requests tbody tr").nth(499).wait_for()
                times.append(page.evaluate("window.renderedAt"))
            print(
                f"dashboard, 500 journal entries, 10,000 conversations: rows on screen after "
                f"{statistics.median(times):.0f} ms (median of {args.rounds}; all: {times})"
            )
            if args.screenshot:
                page.locator("#requests tbody tr", has_text="createConversation").click()
                page.screenshot(path=str(args.screenshot))
                print(f"screenshot: {args.screenshot}")
            browser.close()
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
