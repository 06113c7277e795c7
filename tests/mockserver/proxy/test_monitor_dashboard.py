"""Following a monitor's finding in the dashboard (real headless Chromium, a real proxy process):
the exchange shows its findings, and each earlier exchange a finding rests on opens on a click."""

from __future__ import annotations

from typing import Any

import httpx

from corpus.broken import FAULTS, FaultyApp
from tests.conftest import ALICE

AUTH = {"Authorization": f"Bearer {ALICE}"}


def test_a_finding_links_to_the_exchanges_it_rests_on(browser: Any, serve: Any, spawn_mock: Any) -> None:
    upstream = serve(FaultyApp(next(f for f in FAULTS if f.name == "delete_not_deleting")))
    proxy = spawn_mock("--upstream", upstream.base_url, "--sole-writer")
    with httpx.Client(base_url=proxy.base_url, headers=AUTH) as client:
        cid = client.post("/v1/conversations", json={"title": "kept by mistake"}).json()["id"]
        client.delete(f"/v1/conversations/{cid}")
        assert client.get(f"/v1/conversations/{cid}").status_code == 200  # the fault: still served
    (finding,) = httpx.get(proxy.base_url + "/__mock__/violations").json()["violations"]
    assert finding["rule"] == "goneAfterDelete" and finding["restsOn"] == [2]

    tab = browser.new_page(viewport={"width": 1400, "height": 860})
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        tab.goto(proxy.base_url + "/__mock__/")
        rows = tab.locator("#requests tbody tr")
        rows.filter(has_text="getConversation").wait_for()
        rows.filter(has_text="getConversation").click()
        tab.wait_for_selector("#findings li")
        listed = tab.locator("#findings li").inner_text()
        assert "violation · response goneAfterDelete" in listed and "rests on #2" in listed
        assert "proxy request #3" in tab.locator("#detail").inner_text()
        tab.click("#findings button.link")  # "#2": the delete the finding rests on
        tab.wait_for_selector("#detail h2:has-text('DELETE')")
        assert "proxy request #2" in tab.locator("#detail").inner_text()
        assert ALICE not in tab.content()
    finally:
        tab.close()
    assert not errors, f"script errors in the page: {errors}"
