"""One fixed traffic script over every operation of both APIs, as an app and its tests would
send it through the proxy: valid calls, lists with limit, cursor and filters, pages, missing,
malformed and wrong keys, invalid bodies, unknown ids, and sequences that show behaviour over
time (write then read, update then list, delete then read and list, a pause past the
timestamp resolution between two updates). Used by the proxy monitor's tests and benchmark.

The script reads the ids the server answers and goes on whatever the server does: a broken
server makes later steps address what it answered (or skip), never stops the script.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp

from mockserver import MockConfig, create_app
from mockserver.background import BackgroundServer
from specs.auth import scheme_of
from specs.timestamps import RESOLUTION

from .broken import ALICE, BOB, READONLY

WRONG_KEY = "convo-traffic-not-a-key"
OWNER = "traffic-owner"
DOC_UUID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"  # the documentation's own curl example
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
PAGES = 10  # a walk of the list never takes more pages than this


@dataclass
class Traffic:
    """The two APIs' base URLs (the same proxy, or one Prism each) and what was sent."""

    runtype: str
    systemprompt: str
    pause: float = RESOLUTION + 0.1  # between two updates: equal stamps are proof past RESOLUTION
    timeout: float = 10.0
    sent: int = 0
    statuses: list[int] = field(default_factory=list)

    def send(self, api: str, method: str, path: str, key: str | None = ALICE, **kw: Any) -> Any:
        """One request; the answer's JSON (None when it has none)."""
        base = self.runtype if api == "runtype" else self.systemprompt
        auth = scheme_of(api).headers(key) if key is not None else {}
        headers = kw.pop("headers", {})
        self.sent += 1
        try:
            answer = httpx.request(method, base + path, headers={**auth, **headers}, timeout=self.timeout, **kw)
        except httpx.HTTPError:
            self.statuses.append(0)
            return None
        self.statuses.append(answer.status_code)
        try:
            return answer.json()
        except ValueError:
            return None

    def walk(self, api: str, params: dict[str, Any]) -> list[Any]:
        """Every page of the list for `params`, following the server's cursor or page number."""
        items: list[Any] = []
        query = dict(params)
        for page_number in range(1, PAGES + 1):
            page = self.send(api, "GET", _list_path(api), params=query)
            found = _items(page)
            items += found
            if api == "systemprompt":
                if not found or len(found) < int(query.get("limit", 20)):
                    break
                query = {**params, "page": page_number + 1}
                continue
            pagination = page.get("pagination") if isinstance(page, dict) else None
            if not isinstance(pagination, dict) or pagination.get("hasMore") is False:
                break
            cursor = pagination.get("nextCursor")
            if not isinstance(cursor, str) or not cursor:
                break
            query = {**params, "cursor": cursor}
        return items

    def run(self) -> int:
        """The whole script; the number of requests sent."""
        self.runtype_script()
        self.systemprompt_script()
        return self.sent

    # --- Runtype ---------------------------------------------------------------------------

    def runtype_script(self) -> None:
        send = self.send
        base = "/v1/conversations"
        for key, headers in ((None, {}), (WRONG_KEY, {}), (None, {"Authorization": ALICE})):
            send("runtype", "GET", base, key=key, headers=headers)
        send("runtype", "POST", base, key=None, json={"title": "no key", "ownerId": OWNER})
        full = {
            "title": "alpha",
            "modelId": "model-a",
            "systemPrompt": "be brief",
            "ownerId": OWNER,
            "metadata": {"topic": "a", "n": 1},
        }
        a = _id(send("runtype", "POST", base, json=full))
        b = _id(send("runtype", "POST", base, json={"ownerId": OWNER}))  # the documented defaults
        send("runtype", "POST", base, json={"title": "😀" * 500, "ownerId": OWNER})  # 500 characters
        invalid: list[Any] = [{"title": "x" * 501, "ownerId": OWNER}, {"ownerId": ""}, {"metadata": "no object"}, []]
        for body in invalid:
            send("runtype", "POST", base, json=body)
        send("runtype", "POST", base, content=b"title=plain", headers={"Content-Type": "text/plain"})
        send("runtype", "POST", base, json={"title": "extra", "ownerId": "traffic-other", "colour": "red"})
        for _ in _each(a):
            item = f"{base}/{a}"
            send("runtype", "GET", item)
            send("runtype", "PUT", item, json={"title": "alpha-2"})
            send("runtype", "GET", item)
        self.walk("runtype", {"ownerId": OWNER, "limit": 2})
        time.sleep(self.pause)
        for _ in _each(a):
            item = f"{base}/{a}"
            send("runtype", "PUT", item, json={"metadata": {"topic": "b"}})
            send("runtype", "PUT", item, json={"messages": [_message("m1", "user"), _message("m2", "assistant")]})
            send("runtype", "PUT", item, json={"messages": [_message("m3", "user")]})
            send("runtype", "PUT", item, json={"modelId": "model-b"})
            send("runtype", "PUT", item, json={"systemPrompt": "be kind"})
            send("runtype", "GET", item)
            send("runtype", "PATCH", item, json={"title": "patched"})  # not an operation of the spec
        send("runtype", "GET", base, params={"ownerId": OWNER})
        self.walk("runtype", {"ownerId": OWNER, "limit": 2})
        for params in (
            {"source": "app", "limit": 5},
            {"source": "client_token", "ownerId": OWNER},
            {"surface_id": "traffic-no-such-surface"},
            {"limit": 0},
            {"limit": "abc"},
            {"limit": 1},
            {"ownerId": OWNER, "cursor": "traffic-not-a-cursor"},
        ):
            send("runtype", "GET", base, params=params)
        for _ in _each(a):
            send("runtype", "GET", f"{base}/{a}", key=BOB)  # another tenant's: 404
            send("runtype", "PUT", f"{base}/{a}", key=READONLY, json={"title": "read-only"})
        send("runtype", "POST", base, key=READONLY, json={"title": "read-only"})
        send("runtype", "POST", base, key=WRONG_KEY, json={"title": "wrong key"})
        for _ in _each(b):
            item = f"{base}/{b}"
            send("runtype", "DELETE", item)
            send("runtype", "GET", item)
            send("runtype", "DELETE", item)
            send("runtype", "PUT", item, json={"title": "back"})
        self.walk("runtype", {"ownerId": OWNER, "limit": 2})
        for method, body in (("GET", None), ("PUT", {"title": "nobody"}), ("DELETE", None)):
            send("runtype", method, f"{base}/conv_traffic_unknown", json=body)
        demo = f"{base}/conv_demo1_1"
        send("runtype", "GET", demo)
        send("runtype", "PUT", demo, json={"title": "demo renamed"})
        send("runtype", "GET", demo)
        send("runtype", "GET", base, params={"limit": 100})

    # --- systemprompt.io -------------------------------------------------------------------

    def systemprompt_script(self) -> None:
        send = self.send
        base = "/v1/conversation"
        for key, headers in ((None, {}), (WRONG_KEY, {}), (None, {"api-key": ""})):
            send("systemprompt", "GET", base, key=key, headers=headers)
        listed = _items(send("systemprompt", "GET", base))
        self.walk("systemprompt", {"limit": 1})
        send("systemprompt", "GET", base, params={"limit": 1})
        doc = f"{base}/{DOC_UUID}"
        send("systemprompt", "GET", doc)
        send("systemprompt", "PUT", doc, json={"metadata": {"traffic-k1": "v1"}})
        send("systemprompt", "GET", doc)
        send("systemprompt", "PUT", doc, json={"metadata": {"traffic-k2": "v2"}})
        send("systemprompt", "GET", doc)
        send("systemprompt", "PUT", doc, json={"metadata": "not an object"})
        send("systemprompt", "PUT", doc, json=[])
        send("systemprompt", "PUT", doc, content=b"metadata", headers={"Content-Type": "text/plain"})
        send("systemprompt", "GET", f"{base}/not-a-uuid")
        send("systemprompt", "GET", f"{base}/{UNKNOWN_UUID}")
        send("systemprompt", "PUT", f"{base}/{UNKNOWN_UUID}", json={"metadata": {}})
        send("systemprompt", "GET", base, params={"limit": "abc"})
        send("systemprompt", "GET", base, params={"page": 0})
        self.walk("systemprompt", {"limit": 1})
        for item in listed[1:2]:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                send("systemprompt", "GET", f"{base}/{item['id']}")
        send("systemprompt", "GET", base)


def _list_path(api: str) -> str:
    return "/v1/conversations" if api == "runtype" else "/v1/conversation"


def _items(page: Any) -> list[Any]:
    if isinstance(page, list):
        return page
    if isinstance(page, dict) and isinstance(page.get("conversations"), list):
        return list(page["conversations"])
    return []


def _id(answer: Any) -> str | None:
    value = answer.get("id") if isinstance(answer, dict) else None
    return value if isinstance(value, str) and value and "/" not in value else None


def _each(item_id: str | None) -> Iterator[None]:
    """Once when the server answered an id to address, never otherwise."""
    if item_id is not None:
        yield None


def _message(ident: str, role: str) -> dict[str, str]:
    return {"id": ident, "role": role, "content": f"{role} says {ident}"}


# --- the proxies it goes through ------------------------------------------------------------

# The proxy's three ways of watching, each in front of the next, so that one run of the script
# shows each the same traffic and the same answers: shape checks alone (as before the monitor,
# and as Prism), the monitor (default), the monitor with --sole-writer.
MODES = ("shape", "monitor", "sole-writer")


def server_findings(base_url: str, kind: str = "violation") -> list[dict[str, Any]]:
    """The proxy's findings about the server (the answers), not the client (the requests)."""
    found: list[dict[str, Any]] = httpx.get(base_url + "/__mock__/violations", timeout=10).json()["violations"]
    return [v for v in found if v["direction"] == "response" and v["kind"] == kind]


@contextlib.contextmanager
def proxy_chain(upstream: ASGIApp) -> Iterator[dict[str, str]]:
    """`upstream` on 127.0.0.1 behind the three proxies; their base URLs by mode (the client
    talks to the first, "shape")."""
    servers = [BackgroundServer(upstream).start()]
    try:
        configs: dict[str, dict[str, Any]] = {
            "sole-writer": {"sole_writer": True},
            "monitor": {},
            "shape": {"behaviour_monitor": False},
        }
        urls: dict[str, str] = {}
        for mode, options in configs.items():
            behind = servers[-1].base_url
            config = MockConfig(upstreams=(("runtype", behind), ("systemprompt", behind)), **options)
            servers.append(BackgroundServer(create_app(config)).start())
            urls[mode] = servers[-1].base_url
        yield urls
    finally:
        for server in reversed(servers):
            server.stop()


__all__ = ["MODES", "OWNER", "WRONG_KEY", "Traffic", "proxy_chain", "server_findings"]
