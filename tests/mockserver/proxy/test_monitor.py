"""The proxy as a behaviour monitor, over HTTP: the fixed traffic script (corpus/traffic.py)
through three proxies in a row (shape checks only, the monitor, the monitor with
--sole-writer) in front of a real upstream; and the CLI's outputs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from corpus.broken import FAULTS, FaultyApp
from corpus.conforming import CHOICES, Choice
from corpus.traffic import MODES, Traffic, proxy_chain, server_findings
from mockserver import MockConfig, create_app
from tests.conftest import ALICE, MockProcess

RT = {"Authorization": f"Bearer {ALICE}"}


def run_traffic(app: Any) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The script through the chain: each mode's server violations, the sole-writer proxy's
    journal, and the default monitor's observations."""
    with proxy_chain(app) as urls:
        Traffic(urls["shape"], urls["shape"]).run()
        found = {mode: server_findings(urls[mode]) for mode in MODES}
        journal = httpx.get(urls["sole-writer"] + "/__mock__/requests").json()["requests"]
        observed = server_findings(urls["monitor"], "observation")
    return found, journal, observed


@pytest.mark.parametrize("choice", [None, *CHOICES], ids=["mock", *(c.name for c in CHOICES)])
def test_a_conforming_server_gives_no_violation_in_any_mode(choice: Choice | None) -> None:
    app = choice.app() if choice is not None else FaultyApp(None)
    found, _, _ = run_traffic(app)
    assert found == {mode: [] for mode in MODES}
    assert app.errors == []


# fault → the rule that catches it in each mode (None: not caught there). A state contradiction
# is an observation by default and a violation with --sole-writer; the rest need no assumption.
CAUGHT = {
    "create_answers_202": ("status", "status", "status"),
    "title_limit_not_enforced": (None, "acceptedInvalidInput", "acceptedInvalidInput"),
    "auth_ignored": (None, "credentialRequired", "credentialRequired"),
    "default_title_missing": (None, "defaultApplied", "defaultApplied"),
    "messages_appended": (None, "writeShown", "writeShown"),
    "created_at_moves": (None, "createdAtFixed", "createdAtFixed"),
    "list_limit_ignored": (None, "listLimit", "listLimit"),
    "owner_filter_ignored": (None, "listFilter", "listFilter"),
    "updated_at_only_with_title": (None, "updatedAtMoves", "updatedAtMoves"),
    "delete_not_deleting": (None, None, "goneAfterDelete"),
    "list_misses_newest": (None, None, "listMembership"),
    "systemprompt_update_not_persisted": (None, None, "readShowsWrite"),
    "update_applied_to_original": (None, None, "partialUpdate"),
    "systemprompt_page_ignored": (None, None, "pageRepeat"),
    # Beyond what traffic can prove: whether two keys are two tenants, a surface_id no item shows.
    "tenant_isolation_broken": (None, None, None),
    "surface_filter_ignored": (None, None, None),
}


@pytest.mark.parametrize("name", CAUGHT)
def test_a_broken_server_is_caught_by_the_rule_for_it_with_the_exchanges_it_rests_on(name: str) -> None:
    fault = next(f for f in FAULTS if f.name == name)
    app = FaultyApp(fault)
    found, journal, observed = run_traffic(app)
    assert app.errors == []
    for mode, rule in zip(MODES, CAUGHT[name], strict=True):
        if rule is None:
            assert found[mode] == [], (mode, found[mode])
        else:
            assert rule in {v["rule"] for v in found[mode]}, (mode, found[mode])
    if CAUGHT[name][1] is None and CAUGHT[name][2] is not None:
        # Without --sole-writer the same contradiction is an observation, saying why.
        assert any(o["rule"] == CAUGHT[name][2] and "could explain it" in o["message"] for o in observed)
    # Every exchange a finding rests on is in the journal, to be followed in the dashboard.
    request_ids = {e["requestId"] for e in journal}
    for violation in found["sole-writer"]:
        assert violation["requestId"] in request_ids
        assert set(violation["restsOn"]) <= request_ids
        assert all(earlier < violation["requestId"] for earlier in violation["restsOn"])


def test_a_behaviour_violation_counts_in_the_header_an_observation_does_not(serve: Any) -> None:
    fault = next(f for f in FAULTS if f.name == "delete_not_deleting")
    upstream = serve(FaultyApp(fault))
    urls = {mode: serve(create_app(_config(upstream.base_url, sole_writer=mode))).base_url for mode in (False, True)}
    for sole_writer, base in urls.items():
        cid = httpx.post(base + "/v1/conversations", json={"title": "x"}, headers=RT).json()["id"]
        assert httpx.delete(f"{base}/v1/conversations/{cid}", headers=RT).status_code == 200
        served = httpx.get(f"{base}/v1/conversations/{cid}", headers=RT)
        assert served.headers["x-convo-violations"] == ("1" if sole_writer else "0")
        (finding,) = httpx.get(base + "/__mock__/violations").json()["violations"]
        assert finding["kind"] == ("violation" if sole_writer else "observation")
        assert finding["rule"] == "goneAfterDelete" and finding["direction"] == "response"


def _config(url: str, **options: Any) -> MockConfig:
    return MockConfig(upstreams=(("runtype", url), ("systemprompt", url)), **options)


def test_concurrent_writes_and_reads_raise_no_false_alarm(serve: Any) -> None:
    """Answers of exchanges in flight together may show the state before or after each other."""
    upstream = serve(create_app(MockConfig()))
    proxy = serve(create_app(_config(upstream.base_url, sole_writer=True)))

    async def traffic() -> None:
        async with httpx.AsyncClient(base_url=proxy.base_url, headers=RT, timeout=30) as client:
            created = await client.post("/v1/conversations", json={"title": "t0", "ownerId": "race"})
            item = f"/v1/conversations/{created.json()['id']}"
            for round_ in range(5):
                await asyncio.gather(
                    *(client.put(item, json={"title": f"t{round_}-{n}", "metadata": {"n": n}}) for n in range(4)),
                    *(client.get(item) for _ in range(4)),
                    client.get("/v1/conversations", params={"ownerId": "race", "limit": 1}),
                    client.post("/v1/conversations", json={"ownerId": "race"}),
                )
            await client.get(item)

    asyncio.run(traffic())
    assert httpx.get(proxy.base_url + "/__mock__/violations").json()["violations"] == []


def test_sole_writer_makes_a_write_the_proxy_did_not_see_a_violation(spawn_mock: Any, tmp_path: Path) -> None:
    upstream = spawn_mock()
    reports = {mode: tmp_path / f"{mode}.json" for mode in ("default", "sole")}
    proxies: dict[str, MockProcess] = {
        "default": spawn_mock(
            "--upstream", upstream.base_url, "--fail-on-violation", "--json", str(reports["default"])
        ),
        "sole": spawn_mock(
            "--upstream", upstream.base_url, "--sole-writer", "--fail-on-violation", "--json", str(reports["sole"])
        ),
    }
    for proxy in proxies.values():
        cid = httpx.post(proxy.base_url + "/v1/conversations", json={"title": "mine"}, headers=RT).json()["id"]
        # Another client writes to the service directly: the proxy never sees it.
        httpx.put(f"{upstream.base_url}/v1/conversations/{cid}", json={"title": "theirs"}, headers=RT)
        assert httpx.get(f"{proxy.base_url}/v1/conversations/{cid}", headers=RT).json()["title"] == "theirs"
    codes = {mode: proxy.stop() for mode, proxy in proxies.items()}
    assert codes == {"default": 0, "sole": 1}
    data = {mode: json.loads(path.read_text()) for mode, path in reports.items()}
    (observed,) = [r for r in data["default"]["results"] if r["status"] == "observed"]
    (failed,) = [r for r in data["sole"]["results"] if r["status"] == "failed"]
    assert observed["operationId"] == failed["operationId"] == "getConversation"
    (observation,) = observed["observations"]
    (failure,) = failed["failures"]
    assert observation["what"].startswith("readShowsWrite") and failure["expected"].startswith("readShowsWrite")
    assert observation["restsOn"] == failure["restsOn"] == [1]  # the create through the proxy
    assert data["default"]["summary"]["observed"] == 1 and data["default"]["exitCode"] == 0
    assert data["sole"]["exitCode"] == 1
    lines = {mode: [ln for ln in proxy.output if ln.startswith("convo-mock: ")] for mode, proxy in proxies.items()}
    # Numbered by their own count, beside the request they were found in.
    assert any(
        ln.startswith("convo-mock: observation 1 (request #2)") and "(rests on request #1)" in ln
        for ln in lines["default"]
    )
    assert any(
        ln.startswith("convo-mock: violation 1 (request #2)") and "(rests on request #1)" in ln for ln in lines["sole"]
    )


def test_sole_writer_needs_an_upstream() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "--port", "0", "--sole-writer"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--sole-writer" in done.stderr and "Traceback" not in done.stderr
