"""The dashboard with --control-token: its static shell loads without the token, every route
that reads or changes state still needs it, and the page asks for it, keeps it in the tab's
sessionStorage and sends it on every call. Against real mock processes (HTTP) and in real
headless Chromium (the system's, driven by Playwright)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.routing import Route

from mockserver.api.auth import label_of
from mockserver.control import routes as control
from mockserver.guard import OPEN_CONTROL_PATHS
from tests.conftest import ALICE, MockProcess
from tests.mockserver.test_hardening import TokenMockProcess

TOKEN = "dash-t0ken-5ecret"
WITH_TOKEN = {"Authorization": f"Bearer {TOKEN}"}
STORAGE_KEY = "convo-mock.control-token"  # the page's sessionStorage key (app.js)
PAGE_FILES = {
    "/__mock__/": ("index.html", "text/html"),
    "/__mock__/static/app.js": ("app.js", "text/javascript"),
    "/__mock__/static/app.css": ("app.css", "text/css"),
}


@pytest.fixture(scope="module")
def guarded() -> Iterator[MockProcess]:
    mock = TokenMockProcess("--control-token", TOKEN)
    yield mock
    assert mock.stop() == 0
    assert not any(TOKEN in line for line in mock.output), "the token reached the mock's output"


def raw_get(base_url: str, target: str, method: str = "GET") -> tuple[int, bytes]:
    """A request whose target goes out byte for byte (httpx would resolve `..` first)."""
    where = urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    try:
        connection.request(method, target)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _conversation_id(mock: MockProcess) -> str:
    listed = httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": f"Bearer {ALICE}"})
    first: str = listed.json()["conversations"][0]["id"]
    return first


def _get_routes(mock: MockProcess) -> list[str]:
    """Every GET route of the control plane, its parameters filled with things that exist."""
    params = {"api": "runtype", "tenant": label_of(ALICE), "id": _conversation_id(mock), "name": "app.js"}
    paths = []
    for route in control.MOUNT.routes:
        if isinstance(route, Route) and route.methods and "GET" in route.methods:
            paths.append(control.MOUNT.path + route.path_format.format(**params))
    return paths


# HTTP -----------------------------------------------------------------------------------------


def test_the_open_paths_are_exactly_the_page_and_its_files() -> None:
    assert set(PAGE_FILES) == OPEN_CONTROL_PATHS


def test_the_static_shell_loads_without_the_token(guarded: MockProcess) -> None:
    for path, (name, media_type) in PAGE_FILES.items():
        got = httpx.get(guarded.base_url + path)
        assert got.status_code == 200, (path, got.text)
        assert got.headers["content-type"].startswith(media_type)
        # Byte for byte the package's file: the shell carries no data of this mock.
        assert got.content == resources.files("mockserver.control.dashboard").joinpath(name).read_bytes()
        head = httpx.head(guarded.base_url + path)
        assert head.status_code == 200 and head.content == b""


def test_every_data_route_needs_the_token(guarded: MockProcess) -> None:
    routes = [path for path in _get_routes(guarded) if path not in OPEN_CONTROL_PATHS]
    assert len(routes) >= 10, routes  # health, meta, state, chaos, requests, ..., the state browser
    for path in routes:
        refused = httpx.get(guarded.base_url + path)
        assert refused.status_code == 401, path
        assert refused.headers["content-type"] == "application/json"
        body = refused.json()
        assert body["error"] == "unauthorized" and "--control-token" in body["message"]
        assert httpx.head(guarded.base_url + path).status_code == 401, path
        assert httpx.get(guarded.base_url + path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        allowed = httpx.get(guarded.base_url + path, headers=WITH_TOKEN)
        # /violations is proxy mode's: past the guard it is the route's own 404.
        expected = 404 if path.endswith("/violations") else 200
        assert allowed.status_code == expected, (path, allowed.text)
        assert allowed.headers["content-type"].startswith("application/json"), path


def test_changes_need_the_token_even_on_the_open_paths(guarded: MockProcess) -> None:
    url = guarded.base_url
    before = httpx.get(url + "/__mock__/chaos", headers=WITH_TOKEN).json()
    json_body = {"Content-Type": "application/json"}
    changes: list[tuple[str, str, object]] = [
        ("POST", "/__mock__/reset", None),
        ("PUT", "/__mock__/chaos", {"code": 503}),
        ("PUT", "/__mock__/state", {"tenants": {}}),
        ("DELETE", "/__mock__/requests", None),
    ]
    for method, path, body in changes:
        refused = httpx.request(method, url + path, json=body, headers=json_body)
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized", (method, path)
    assert httpx.get(url + "/__mock__/chaos", headers=WITH_TOKEN).json() == before
    assert httpx.get(url + "/__mock__/tenants", headers=WITH_TOKEN).json()["tenants"]  # the state is still there
    # The exemption is GET and HEAD only: any other method on the page's own paths wants the token.
    for path in OPEN_CONTROL_PATHS:
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            assert httpx.request(method, url + path).status_code == 401, (method, path)
            assert httpx.request(method, url + path, headers=WITH_TOKEN).status_code == 405, (method, path)


@pytest.mark.parametrize(
    "target",
    [
        "/__mock__/static/app.js/../state",
        "/__mock__/static/..%2Fstate",
        "/__mock__/static/app.js/../../__mock__/requests",
        "/__mock__/./state",
        "/__mock__/index.html",
        "/__mock__/index.html?x",
        "/__mock__/static/index.html",
        "/__mock__/static/app.js/",
        "/__mock__/static/app.js;state",
        "/__mock__/static/APP.JS",
        "/__mock__/STATIC/app.js",
        "/__mock__//",
        "/__mock__",
        "/__mock__/state?/__mock__/",
        "/__mock__/tenants#/__mock__/",
    ],
)
def test_near_misses_of_the_open_paths_need_the_token(guarded: MockProcess, target: str) -> None:
    status, body = raw_get(guarded.base_url, target)
    assert status == 401, (target, body[:200])
    assert json.loads(body)["error"] == "unauthorized"
    assert raw_get(guarded.base_url, target, "HEAD")[0] == 401


@pytest.mark.parametrize("target", ["/__MOCK__/state", "/__Mock__/requests", "/__MOCK__/", "/%5f_mock__/state"])
def test_case_and_encoding_variants_reach_no_control_route(guarded: MockProcess, target: str) -> None:
    status, body = raw_get(guarded.base_url, target)
    decoded = json.loads(body)
    # Either the guard's 401 (the path decodes to /__mock__/...) or the APIs' JSON 404: never data.
    assert (status, decoded["error"]) in {(401, "unauthorized"), (404, "not_found")}, (target, decoded)
    assert set(decoded) == {"error", "message"}


def test_a_query_on_the_page_is_still_only_the_page(guarded: MockProcess) -> None:
    page = resources.files("mockserver.control.dashboard").joinpath("index.html").read_bytes()
    for target in ("/__mock__/?x", "/__mock__/?since=0", "/__mock__/?../state"):
        assert raw_get(guarded.base_url, target) == (200, page), target


def test_the_401_names_no_token_and_the_page_none_either(guarded: MockProcess) -> None:
    refused = httpx.get(guarded.base_url + "/__mock__/state", headers={"Authorization": "Bearer almost-" + TOKEN})
    assert refused.status_code == 401 and TOKEN not in refused.text
    for path in PAGE_FILES:
        assert TOKEN not in httpx.get(guarded.base_url + path).text


# Browser --------------------------------------------------------------------------------------


class Tab:
    """One page in its own browser context, with what it logged and threw."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 860})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def stored(self) -> Any:
        return self.page.evaluate(f"sessionStorage.getItem({STORAGE_KEY!r})")

    def enter(self, token: str) -> None:
        self.page.wait_for_selector("#token-form", state="visible")
        self.page.fill("#token-form [name=token]", token)
        self.page.click("#token-form button[type=submit]")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    opened = Tab(browser)
    yield opened
    opened.close()
    assert not opened.errors, f"script errors in the page: {opened.errors}"


def _seed_requests(mock: MockProcess) -> list[str]:
    """Three API requests the dashboard must list; their paths."""
    paths = ["/v1/conversations", "/v1/conversations/conv_nope", "/v1/conversations?limit=2"]
    with httpx.Client(base_url=mock.base_url, headers={"Authorization": f"Bearer {ALICE}"}) as client:
        for path in paths:
            client.get(path)
    return paths


def _assert_token_nowhere(tab: Tab) -> None:
    page = tab.page
    assert TOKEN not in page.content()  # the DOM, serialised: text and attributes
    assert TOKEN not in page.inner_text("body")
    assert page.input_value("#token-form [name=token]") == ""
    assert not any(TOKEN in line for line in tab.console)
    assert TOKEN not in page.url
    assert page.evaluate("document.cookie") == "" and tab.context.cookies() == []
    assert page.evaluate("localStorage.length") == 0


def test_the_page_asks_for_the_token_keeps_it_per_tab_and_forgets_it(tab: Tab) -> None:
    mock = TokenMockProcess("--control-token", TOKEN)
    try:
        paths = _seed_requests(mock)
        page = tab.page
        page.goto(mock.base_url + "/__mock__/")
        page.wait_for_selector("#token-form", state="visible")
        assert "protected" in page.inner_text("#token-message")
        password = page.locator("#token-form [name=token]")
        assert password.get_attribute("type") == "password" and password.get_attribute("autocomplete") == "off"
        assert page.locator("#requests tbody tr").count() == 0  # nothing before the token
        assert page.is_hidden("#forget-token")

        tab.enter(TOKEN)
        rows = page.locator("#requests tbody tr")
        rows.filter(has_text="conv_nope").wait_for()
        page.wait_for_selector("#status:has-text('live')")
        assert rows.count() == len(paths)
        shown = sorted(row.locator("td.path").inner_text() for row in rows.all())
        assert shown == sorted(paths)
        assert page.is_hidden("#token-form") and page.is_visible("#forget-token")
        assert tab.stored() == TOKEN
        # Every other call sends it too: the state browser's tenants load.
        page.click("button.tab[data-tab=state]")
        page.wait_for_selector(f"#tenants a[data-tenant='{label_of(ALICE)}'][data-api=runtype]", state="attached")
        _assert_token_nowhere(tab)

        # A reload keeps the token for this tab: no form, the rows come back.
        page.reload()
        page.wait_for_selector("#status:has-text('live')")
        page.locator("#requests tbody tr").filter(has_text="conv_nope").wait_for()
        assert page.is_hidden("#token-form") and tab.stored() == TOKEN

        # Another tab of the same browser profile has no token (sessionStorage is per tab).
        other = tab.context.new_page()
        other.goto(mock.base_url + "/__mock__/")
        other.wait_for_selector("#token-form", state="visible")
        other.close()

        # Forgetting: the token and what it unlocked leave the page; the form is back.
        page.click("#forget-token")
        page.wait_for_selector("#token-form", state="visible")
        assert "forgotten" in page.inner_text("#token-message").lower()
        assert tab.stored() is None
        assert page.locator("#requests tbody tr").count() == 0
        assert page.locator("#tenants tbody tr").count() == 0
        page.wait_for_timeout(1500)  # a poll or more: it waits for the token instead of loading
        assert page.locator("#requests tbody tr").count() == 0

        # Entered again, everything loads again.
        tab.enter(TOKEN)
        page.locator("#requests tbody tr").filter(has_text="conv_nope").wait_for()
        page.wait_for_selector(f"#tenants a[data-tenant='{label_of(ALICE)}'][data-api=runtype]", state="attached")
        _assert_token_nowhere(tab)
    finally:
        assert mock.stop() == 0
    assert not any(TOKEN in line for line in mock.output)


def test_a_wrong_token_shows_the_form_again_with_a_clear_message(tab: Tab) -> None:
    mock = TokenMockProcess("--control-token", TOKEN)
    try:
        _seed_requests(mock)
        page = tab.page
        page.goto(mock.base_url + "/__mock__/")
        tab.enter("not-the-" + TOKEN)
        page.wait_for_selector("#token-message:has-text('refused')")
        assert page.is_visible("#token-form")
        assert tab.stored() is None  # a refused token is not kept
        assert page.locator("#requests tbody tr").count() == 0
        # Text no header could carry is refused by the form itself, before any request.
        tab.enter("two words")
        page.wait_for_selector("#token-message:has-text('printable ASCII')")
        assert tab.stored() is None

        tab.enter(TOKEN)
        page.locator("#requests tbody tr").filter(has_text="conv_nope").wait_for()
        assert page.is_hidden("#token-form")
        _assert_token_nowhere(tab)
    finally:
        assert mock.stop() == 0


def test_the_journal_redacts_the_token_sent_to_an_api(tab: Tab) -> None:
    """Someone pastes the control token as an API key: the journal, and so the page, hide it."""
    mock = TokenMockProcess("--control-token", TOKEN)
    try:
        misplaced = httpx.get(mock.base_url + "/v1/conversations", headers=WITH_TOKEN)
        assert misplaced.status_code == 401  # not an API key
        journal = httpx.get(mock.base_url + "/__mock__/requests", headers=WITH_TOKEN)
        [entry] = journal.json()["requests"]
        assert entry["headers"]["authorization"] == "Bearer [REDACTED]"
        assert TOKEN not in journal.text

        page = tab.page
        page.goto(mock.base_url + "/__mock__/")
        tab.enter(TOKEN)
        page.locator("#requests tbody tr").first.click()
        page.wait_for_selector("#detail:has-text('Bearer [REDACTED]')")
        _assert_token_nowhere(tab)
    finally:
        assert mock.stop() == 0
    assert not any(TOKEN in line for line in mock.output)


def test_without_a_token_the_page_never_asks(spawn_mock: Any, tab: Tab) -> None:
    mock = spawn_mock()
    _seed_requests(mock)
    page = tab.page
    page.goto(mock.base_url + "/__mock__/")
    page.wait_for_selector("#status:has-text('live')")
    page.locator("#requests tbody tr").filter(has_text="conv_nope").wait_for()
    assert page.is_hidden("#token-form") and page.is_hidden("#forget-token")
    assert tab.stored() is None
