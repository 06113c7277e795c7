"""Issue 18, problem 7: the dashboard notices a restarted mock and starts over, rather than
polling `since=` the old process's ids (missing the new run's requests) and showing the old
run's requests as if they were the new one's. Real headless Chromium, real mock processes
on one port."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import ALICE, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_dashboard_starts_over_when_the_mock_restarts(browser: Any, spawn_mock: Callable[..., MockProcess]) -> None:
    port = str(_free_port())
    old = spawn_mock("--port", port)
    tab = browser.new_page(viewport={"width": 1400, "height": 860})
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(old.base_url + "/__mock__/")
    tab.wait_for_selector("#status:has-text('live')")
    rows = tab.locator("#requests tbody tr")
    for n in range(5):  # the old run: ids 1..5
        httpx.get(f"{old.base_url}/v1/conversations/conv_old_run_{n}", headers=AUTH)
    rows.filter(has_text="conv_old_run_4").wait_for()
    assert old.stop() == 0

    new = spawn_mock("--port", port)  # the same address: the page polls on
    assert new.base_url == old.base_url
    httpx.get(f"{new.base_url}/v1/conversations/conv_new_run", headers=AUTH)  # the new run's id 1
    rows.filter(has_text="conv_new_run").wait_for(timeout=20_000)
    shown = rows.all_inner_texts()
    assert not [r for r in shown if "conv_old_run" in r], "the old run's requests are still shown"
    tab.close()
    assert not errors, f"script errors in the page: {errors}"
