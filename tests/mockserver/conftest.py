"""Fixtures for tests/mockserver."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import FLAGS, require_chromium, require_playwright
from tests.mockserver.proxy.upstreams import serve

__all__ = ["browser", "serve"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (the system's) under Playwright; the test skips without them."""
    sync_api = require_playwright()
    with sync_api.sync_playwright() as p:
        # Playwright's launcher passes its own --headless and profile directory.
        launched = p.chromium.launch(executable_path=require_chromium(), args=list(FLAGS))
        yield launched
        launched.close()
