"""Regenerate docs/report.png: the HTML report of a run against a server with one documented
limit left unenforced (corpus/broken.py `title_limit_not_enforced`), in headless Chromium.

    python scripts/report_screenshot.py [--out docs/report.png]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.cli import main as contracts_main  # noqa: E402
from corpus.broken import FAULTS, FaultyApp  # noqa: E402
from mockserver.background import BackgroundServer  # noqa: E402

FAULT = "title_limit_not_enforced"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    fault = next(f for f in FAULTS if f.name == FAULT)
    with tempfile.TemporaryDirectory() as tmp, BackgroundServer(FaultyApp(fault)) as server:
        report = Path(tmp) / "report.html"
        with contextlib.redirect_stdout(io.StringIO()):
            code = contracts_main(
                ["run", "--api", "runtype", "--base-url", server.base_url, "--api-key", "demo-alice",
                 "--other-key", "demo-bob", "--readonly-key", "demo-readonly", "--html", str(report)]
            )  # fmt: skip
        if code != 1:
            sys.exit(f"expected the run to find {FAULT} (exit 1), got exit {code}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(report.as_uri())
            # The picture must not contradict itself: the headline counts what the page lists.
            headline = page.locator("#verdict").inner_text()
            cards = page.locator(".card[data-status=failed]").count()
            if not headline.startswith(f"FAILED: {cards} failure(s)"):
                sys.exit(f"the headline {headline!r} does not count the {cards} failures listed")
            page.screenshot(path=str(args.out))
            browser.close()
    print(f"screenshot: {args.out}")


if __name__ == "__main__":
    main()
