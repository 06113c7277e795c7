"""The dashboard at /__mock__/ in real headless Chromium (the system's, driven by Playwright),
against a real mock process; API calls are made with httpx beside the open page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.api.auth import label_of
from tests.conftest import ALICE, BOB, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}


@pytest.fixture
def page(browser: Any, spawn_mock: Any) -> Iterator[tuple[Any, MockProcess]]:
    mock = spawn_mock()
    opened = browser.new_page(viewport={"width": 1400, "height": 860})
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(mock.base_url + "/__mock__/")
    opened.wait_for_selector("#status:has-text('live')")
    yield opened, mock
    opened.close()
    assert not errors, f"script errors in the page: {errors}"


def test_get_root_points_at_the_dashboard(spawn_mock: Any) -> None:
    mock = spawn_mock()
    assert httpx.get(mock.base_url + "/").json()["dashboard"] == "/__mock__/"
    assert f"{mock.base_url}/__mock__/" in mock.banner
    page = httpx.get(mock.base_url + "/__mock__/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(mock.base_url + "/__mock__/static/nope.js").status_code == 404


def test_requests_appear_live_filter_open_and_reset(page: tuple[Any, MockProcess]) -> None:
    tab, mock = page
    tab.evaluate("window.notReloaded = true")
    with httpx.Client(base_url=mock.base_url) as client:
        created = client.post("/v1/conversations", json={"title": "from the browser test"}, headers=AUTH).json()
        client.get("/v1/conversation", headers={"api-key": BOB})
        client.get(f"/v1/conversations/{created['id']}", headers=AUTH)
        client.get("/v1/conversations/conv_missing", headers=AUTH)
    rows = tab.locator("#requests tbody tr")
    rows.filter(has_text="conv_missing").wait_for()
    assert tab.evaluate("window.notReloaded") is True  # the rows came without a reload
    assert rows.count() == 4

    # A filter hides the others.
    tab.select_option("#filters [name=method]", "POST")
    assert rows.count() == 1 and "createConversation" in rows.first.inner_text()
    tab.select_option("#filters [name=method]", "")
    tab.select_option("#filters [name=status]", "4")
    assert rows.count() == 1 and "404" in rows.first.inner_text()
    tab.select_option("#filters [name=status]", "")
    tab.select_option("#filters [name=tenant]", label_of(BOB))
    assert rows.count() == 1 and "systemprompt" not in rows.first.inner_text()  # the operation name shows
    tab.select_option("#filters [name=tenant]", "")
    tab.fill("#filters [name=text]", "from the browser")
    assert rows.count() == 2  # the create (request body) and the get (response body)
    tab.fill("#filters [name=text]", "")

    # Opening an entry shows the response body, with the key redacted.
    rows.filter(has_text="createConversation").click()
    detail = tab.locator("#detail").inner_text()
    assert created["id"] in detail and "from the browser test" in detail
    assert "authorization: Bearer [REDACTED]" in detail
    assert ALICE not in detail and ALICE not in tab.content()

    # Reset restores the seed.
    seeded = httpx.get(mock.base_url + "/__mock__/tenants").json()
    assert seeded != httpx.get(mock.base_url + "/__mock__/state").json()  # sanity: different shapes
    tab.click("#reset")
    tab.wait_for_selector("#reset:has-text('Reset done')")
    after = httpx.get(mock.base_url + f"/v1/conversations/{created['id']}", headers=AUTH)
    assert after.status_code == 404
    counts = {t["tenant"]: t["runtype"] for t in httpx.get(mock.base_url + "/__mock__/tenants").json()["tenants"]}
    before = {t["tenant"]: t["runtype"] for t in seeded["tenants"]}
    assert counts[label_of(ALICE)] == before[label_of(ALICE)] - 1


def test_chaos_controls_use_the_control_plane(page: tuple[Any, MockProcess]) -> None:
    tab, mock = page
    tab.click("button.tab[data-tab=chaos]")
    # The form's defaults are the mock's, read from GET /__mock__/meta.
    defaults = httpx.get(mock.base_url + "/__mock__/meta").json()["fault_defaults"]
    assert tab.input_value("#fault [name=body_ms]") == str(defaults["body_ms"])
    assert tab.input_value("#fault [name=retry_after]") == str(defaults["retry_after"])
    tab.select_option("#fault [name=what]", "status:503")
    tab.select_option("#fault [name=operation]", "createConversation")
    tab.fill("#fault [name=times]", "1")
    tab.click("#fault button[type=submit]")
    tab.wait_for_selector("#chaos-message:has-text('fault rules updated')")
    [rule] = httpx.get(mock.base_url + "/__mock__/chaos").json()["faults"]
    assert (rule["status"], rule["operation"], rule["remaining"]) == (503, "createConversation", 1)
    first = httpx.post(mock.base_url + "/v1/conversations", json={}, headers=AUTH)
    assert first.status_code == 503 and first.headers["retry-after"] == "1"
    assert httpx.post(mock.base_url + "/v1/conversations", json={}, headers=AUTH).status_code == 201
    # A setting the mock refuses shows its message, and changes nothing.
    tab.fill("#chaos [name=code]", "418")
    tab.click("#chaos button[type=submit]")
    tab.wait_for_selector("#chaos-message.bad:has-text('allowed')")
    assert httpx.get(mock.base_url + "/__mock__/chaos").json()["code"] is None


def test_state_browser_pages_through_10000_conversations(page: tuple[Any, MockProcess], tmp_path: Path) -> None:
    tab, mock = page
    many = [{"id": f"conv_{i:05d}", "title": f"chat {i}"} for i in range(10_000)]
    state = {"tenants": {"big-tenant": {"runtype": many}}}
    loaded = httpx.put(
        mock.base_url + "/__mock__/state",
        content=json.dumps(state),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert loaded.status_code == 200, loaded.text
    tab.click("button.tab[data-tab=state]")
    big = label_of("big-tenant")
    tab.locator(f"#tenants a[data-tenant='{big}'][data-api=runtype]").click()
    tab.wait_for_selector("#conversations:has-text('of 10000')")
    assert tab.locator("#conversations li").count() == 50
    tab.click("#conversations button:has-text('next')")
    tab.wait_for_selector("#conversations:has-text('51–100 of 10000')")
    tab.locator("#conversations a", has_text="conv_00050").click()
    tab.wait_for_selector("#state-detail:has-text('chat 50')")


def test_load_time_with_a_full_journal(page: tuple[Any, MockProcess]) -> None:
    """Prints the time to a rendered page with 500 journal entries (measured, not asserted)."""
    tab, mock = page
    with httpx.Client(base_url=mock.base_url, headers=AUTH) as client:
        for i in range(500):
            client.get(f"/v1/conversations/conv_{i}")
    started = time.perf_counter()
    tab.reload()
    tab.locator("#requests tbody tr").nth(499).wait_for()  # (wait_for_function would need eval: CSP)
    print(
        f"dashboard with 500 journal entries: rows on screen {tab.evaluate('window.renderedAt')} ms after "
        f"navigation (in-page clock); {(time.perf_counter() - started) * 1000:.0f} ms as Playwright saw it"
    )
    assert tab.locator("#requests tbody tr").count() == 500
    tab.fill("#filters [name=text]", "conv_42")
    assert tab.locator("#requests tbody tr").count() == 11  # conv_42, conv_420..429


def test_a_restarted_mock_is_noticed_and_the_page_starts_over(browser: Any, spawn_mock: Any) -> None:
    """The new process numbers its requests from 1 again: the page drops the old run's rows
    and shows the new run's, instead of polling for ids after the old run's last."""
    first = spawn_mock()
    port = first.base_url.rsplit(":", 1)[1]
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(first.base_url + "/__mock__/")
    rows = tab.locator("#requests tbody tr")
    with httpx.Client(base_url=first.base_url, headers=AUTH) as client:
        for i in range(5):
            client.get(f"/v1/conversations/conv_old_{i}")
    rows.filter(has_text="conv_old_4").wait_for()
    tab.click("#requests tbody tr:has-text('conv_old_4')")
    assert first.stop() == 0
    second = spawn_mock("--port", port)
    assert second.base_url == first.base_url
    httpx.get(second.base_url + "/v1/conversations/conv_new_1", headers=AUTH)
    rows.filter(has_text="conv_new_1").wait_for(timeout=15_000)
    assert rows.count() == 1
    assert "conv_old" not in tab.locator("#requests").inner_text()
    assert "conv_old" not in tab.locator("#detail").inner_text()
    tab.close()
    assert not errors, f"script errors in the page: {errors}"


def _open(browser: Any, mock: MockProcess) -> Any:
    tab = browser.new_page(viewport={"width": 1400, "height": 860})
    tab.goto(mock.base_url + "/__mock__/")
    tab.wait_for_selector("#status:has-text('live')")
    return tab


def test_empty_lists_say_why_they_are_empty(browser: Any, spawn_mock: Any) -> None:
    mock = spawn_mock("--empty")
    tab = _open(browser, mock)
    try:
        note = tab.locator("#requests-empty")
        note.wait_for()
        assert "No requests yet" in note.inner_text()
        httpx.get(mock.base_url + "/v1/conversation", headers={"api-key": BOB})
        tab.locator("#requests tbody tr").first.wait_for()
        assert note.is_hidden()
        assert tab.locator("#filters [name=tenant] option[value=bob]").count() == 1  # by its public name
        tab.select_option("#filters [name=method]", "DELETE")
        assert note.is_visible() and "No request matches these filters (1 kept)" in note.inner_text()

        tab.click("button.tab[data-tab=state]")
        tab.locator("#tenants-empty").wait_for()
        assert "No conversations" in tab.inner_text("#tenants-empty")
        httpx.post(mock.base_url + "/v1/conversations", json={"title": "first"}, headers=AUTH)
        tab.click("button.tab[data-tab=requests]")
        tab.click("button.tab[data-tab=state]")
        tab.locator("#tenants a[data-tenant=alice][data-api=runtype]:has-text('1')").wait_for()
        assert tab.locator("#tenants-empty").is_hidden()
        tab.click("#tenants a[data-tenant=alice][data-api=systemprompt]")
        tab.locator("#conversations h2:has-text('alice · systemprompt')").wait_for()
        assert tab.inner_text("#conversations .empty") == "No systemprompt conversations for alice."

        tab.click("button.tab[data-tab=chaos]")
        tab.locator("#rules-empty").wait_for()
        assert "No fault rules" in tab.inner_text("#rules-empty")
    finally:
        tab.close()


def test_the_state_browser_shows_demo_keys_by_their_public_names(page: tuple[Any, MockProcess]) -> None:
    tab, _mock = page
    tab.click("button.tab[data-tab=state]")
    tab.locator("#tenants tbody tr").first.wait_for()
    names = [cell.split(" ")[0] for cell in tab.locator("#tenants tbody td:first-child").all_inner_texts()]
    assert sorted(names) == ["alice", "bob", "readonly"]  # the demo tenants, by the names the banner gives
    assert "demo-alice" not in tab.content()


def test_placeholders_fit_their_inputs(page: tuple[Any, MockProcess]) -> None:
    """Every placeholder shows whole: its text, in the input's own font, fits inside the padding."""
    tab, _mock = page
    measured: list[dict[str, Any]] = []
    for name in ("requests", "state", "chaos"):
        tab.click(f"button.tab[data-tab={name}]")
        measured += tab.evaluate(
            """() => [...document.querySelectorAll('input[placeholder]')]
              .filter((input) => input.offsetParent !== null)
              .map((input) => {
                const style = getComputedStyle(input);
                const context = document.createElement('canvas').getContext('2d');
                context.font = style.font;
                const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
                // Also as Chromium lays it out: the placeholder's text as the value must not scroll.
                const kept = input.value;
                let scrolls = false;
                if (input.type === 'search' || input.type === 'text') {
                  input.value = input.placeholder;
                  scrolls = input.scrollWidth > input.clientWidth;
                  input.value = kept;
                }
                return {name: input.name, text: context.measureText(input.placeholder).width, room, scrolls};
              })"""
        )
    assert {m["name"] for m in measured} >= {"text", "code", "times"}
    assert [m for m in measured if m["text"] > m["room"] or m["scrolls"]] == []
