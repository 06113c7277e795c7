"""A real `convo-mock --upstream` process in front of every hostile server, a client's traffic
through it (with the client's own key, which the proxy does not know): the journal
(`GET /__mock__/requests`, what the dashboard shows), the violations, the `--record` file, the
`--json` report and the proxy's console hold no key and no raw control character, and the
proxy's memory stays bounded whatever the upstream answers.

Issue 18's problem 2 (forwarded credentials in the proxy's journal and record) is this test
for the `key_*` servers; problem 3's proxy half for the `terminal_*` ones."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from corpus.hostile import HOSTILE, Hostile, WireServer
from specs.auth import scheme_of

from .conftest import Proxy
from .inert import API_KEY, json_problems, key_traces, raw_control_bytes, raw_controls

# What the proxy may grow by while relaying anything at all: the bound issue 18 sets for a
# 1 GiB answer, here for a few bounded reads of each hostile answer.
MAX_GROWTH_KIB = 64 * 1024
READ_AT_MOST = 4 * 1024 * 1024  # what the client reads of an answer before it hangs up


def _auth(api: str) -> dict[str, str]:
    return scheme_of(api).headers(API_KEY)


def _read(client: httpx.Client, method: str, path: str, api: str = "runtype", **kwargs: Any) -> bytes:
    """One request, its answer read up to READ_AT_MOST (then the client hangs up); b"" when
    the proxy gave no answer within the client's timeout."""
    body = bytearray()
    with (
        contextlib.suppress(httpx.TransportError),
        client.stream(method, path, headers=_auth(api), **kwargs) as answer,
    ):
        for chunk in answer.iter_raw():
            body += chunk
            if len(body) >= READ_AT_MOST:
                break
    return bytes(body)


def _traffic(proxy: Proxy) -> None:
    """A client's session: every operation of both APIs, a request the spec forbids, an error."""
    with httpx.Client(base_url=proxy.base_url, timeout=3) as client:
        _read(client, "GET", "/v1/conversations?limit=2")
        created = _read(client, "POST", "/v1/conversations", json={"title": "from the client"})
        try:
            new_id = str(json.loads(created)["id"])
        except (ValueError, KeyError, TypeError):
            new_id = "conv_unknown"
        item = f"/v1/conversations/{quote(new_id, safe='')}"
        _read(client, "GET", "/v1/conversations/conv_demo1_1")
        _read(client, "GET", item)
        _read(client, "PUT", item, json={"title": "t" * 501})  # breaks the spec: a violation with its curl
        _read(client, "DELETE", item)
        _read(client, "GET", "/v1/conversations/conv_nope")
        listing = _read(client, "GET", "/v1/conversation", api="systemprompt")
        with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
            uuid = next(iter(json.loads(listing)))["id"]
            _read(client, "GET", f"/v1/conversation/{uuid}", api="systemprompt")
        client.get("/v1/conversations")  # no key: the upstream's 401


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_every_output_of_the_proxy_stays_inert_and_its_memory_bounded(
    hostile: Hostile,
    hostile_server: Callable[[Hostile], WireServer],
    proxy_in_front: Callable[..., Proxy],
) -> None:
    server = hostile_server(hostile)
    proxy = proxy_in_front(server.base_url)
    httpx.get(proxy.base_url + "/v1/conversations", headers=_auth("runtype"), timeout=10)  # warm
    before = proxy.memory_kib()
    _traffic(proxy)
    journal = httpx.get(proxy.base_url + "/__mock__/requests", timeout=10)
    violations = httpx.get(proxy.base_url + "/__mock__/violations", timeout=10)
    peak = proxy.memory_kib("VmHWM")
    code = proxy.stop()

    outputs = {
        "GET /__mock__/requests": journal.content,
        "GET /__mock__/violations": violations.content,
        "--record": proxy.record.read_bytes() if proxy.record.exists() else b"",
        "--json": proxy.report.read_bytes() if proxy.report.exists() else b"",
    }
    problems: dict[str, list[str]] = {}
    for name, data in outputs.items():
        problems[f"{name}: keys"] = key_traces(data.decode("utf-8", "replace"))
        problems[f"{name}: raw control characters"] = raw_control_bytes(data)
        problems[f"{name}: JSON"] = json_problems(data)
    for name, stream in (("stdout", proxy.stdout), ("stderr", proxy.stderr)):
        text = bytes(stream).decode("utf-8", "replace")
        problems[f"{name}: keys"] = key_traces(text)
        problems[f"{name}: raw control characters"] = raw_controls(text)
        if "Traceback" in text:
            problems[f"{name}: traceback"] = [text[text.index("Traceback") :][:300]]
    if peak - before > MAX_GROWTH_KIB:
        problems["memory"] = [f"grew from {before} KiB to a peak of {peak} KiB"]
    problems = {where: found for where, found in problems.items() if found}
    assert not problems, json.dumps(problems, indent=1)

    # Not vacuous: the traffic went through and was journaled; the proxy ended cleanly.
    assert code == 0
    assert journal.status_code == 200 and len(journal.json()["requests"]) >= 8
    assert violations.json()["total"] >= 1
