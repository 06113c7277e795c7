"""The one place browser tests find Chromium, its flags and the skip message.

Chromium is the system's (Debian's /usr/bin/chromium), never a downloaded one: CONVO_CHROMIUM
names another binary; otherwise /usr/bin/chromium, then `chromium` or `chromium-browser` on PATH.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ENV = "CONVO_CHROMIUM"
SKIP_MESSAGE = f"no Chromium: install it with `apt-get install chromium` (Debian), or set {CHROMIUM_ENV}"
# Quiet, offline-friendly flags for a test browser; --headless and the profile come separately
# because Playwright passes its own.
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_path() -> str | None:
    """The Chromium binary to use, or None when there is none."""
    candidates = (
        os.environ.get(CHROMIUM_ENV),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_chromium() -> str:
    """The Chromium binary; skips the test, saying how to get one, when there is none."""
    path = chromium_path()
    if path is None:
        pytest.skip(SKIP_MESSAGE)
    return path


def require_playwright() -> Any:
    """`playwright.sync_api`, after `require_chromium` (Playwright drives the system browser)."""
    require_chromium()
    return pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing: pip install -e '.[test]' (never `playwright install`)"
    )


def headless_args(profile: str | Path) -> list[str]:
    """Command-line flags for a headless Chromium run with its own profile directory."""
    return ["--headless", *FLAGS, f"--user-data-dir={profile}"]
