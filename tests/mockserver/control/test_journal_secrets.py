"""Credentials the journal learns while it runs (`Journal.remember_secret`, what the proxy
calls with its clients' keys) are redacted by value in every written form, in every way the
journal is read: the control plane (which the dashboard polls) and `convo_mock.calls`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from mockserver.config import MockConfig
from mockserver.control.journal import REMEMBERED_SECRETS, SECRET_CHARS, Journal
from mockserver.pytest_plugin import ConvoMock, MockServer
from specs.redact import REDACTED
from tests.conftest import ALICE

# A key with a quote, a backslash, a slash and a space: each written form differs.
SECRET = 'sk-"live\\key/1 2'
AUTH = {"Authorization": f"Bearer {ALICE}"}


def _forms(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote(secret)]


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    running = MockServer(MockConfig())
    yield running
    running.stop()


def _echo_everywhere(base: str) -> None:
    """The secret in a path, a query, a header and a JSON body (the mock echoes the title back)."""
    with httpx.Client(base_url=base, headers=AUTH) as client:
        client.get(f"/v1/conversations/{quote(SECRET, safe='')}")
        client.get("/v1/conversations", params={"ownerId": SECRET})
        client.get("/v1/conversations", headers={"X-Echo": SECRET})
        client.post("/v1/conversations", json={"title": f"my key is {SECRET}"})


def test_a_remembered_credential_is_redacted_in_every_journal_read(server: MockServer) -> None:
    server.call(lambda runtime: runtime.journal.clear())
    _echo_everywhere(server.base_url)
    # Learnt after the requests: redaction happens when the journal is read.
    server.call(lambda runtime: runtime.journal.remember_secret(SECRET))
    control = httpx.get(server.base_url + "/__mock__/requests")
    calls = ConvoMock(server.base_url, _server=server).calls()
    entries = control.json()["requests"]
    assert len(entries) == len(calls) == 4
    for shown in (control.text, json.dumps(entries), repr(calls)):
        for form in _forms(SECRET):
            assert form not in shown, form
    assert entries[0]["path"] == f"/v1/conversations/{REDACTED}"
    assert entries[2]["headers"]["x-echo"] == REDACTED
    assert entries[3]["body"] == {"title": f"my key is {REDACTED}"}
    assert entries[3]["response"]["body"]["title"] == f"my key is {REDACTED}"
    assert calls[1].query in (f"ownerId={REDACTED}", f"ownerId={quote(REDACTED)}")


def test_the_mocks_own_keys_are_still_redacted_beside_remembered_ones(server: MockServer) -> None:
    server.call(lambda runtime: runtime.journal.clear())
    server.call(lambda runtime: runtime.journal.remember_secret("proxy-client-key"))
    httpx.post(server.base_url + "/v1/conversations", json={"title": f"{ALICE} and proxy-client-key"}, headers=AUTH)
    [entry] = httpx.get(server.base_url + "/__mock__/requests").json()["requests"]
    assert entry["body"] == {"title": f"{REDACTED} and {REDACTED}"}


def test_the_most_recently_seen_credentials_are_kept() -> None:
    journal = Journal(10)
    keys = [f"client-key-{i:04d}" for i in range(REMEMBERED_SECRETS + 1)]
    journal.remember_secret(keys[0])
    for key in keys[1:-1]:
        journal.remember_secret(key)
    journal.remember_secret(keys[0])  # seen again: the most recent now
    journal.remember_secret(keys[-1])  # one too many: the least recently seen goes
    shown = journal.redactor()(" ".join(keys))
    assert shown.split(" ").count(REDACTED) == REMEMBERED_SECRETS
    assert shown.split(" ")[1] == keys[1]  # the one forgotten
    assert shown.split(" ")[0] == REDACTED


def test_a_long_credential_is_remembered_by_its_start_and_empty_ones_not_at_all() -> None:
    journal = Journal(10)
    journal.remember_secret("")
    long_key = "k" * (SECRET_CHARS + 500)
    journal.remember_secret(long_key)
    shown = journal.redactor()(f"id={long_key}")
    assert shown == f"id={REDACTED}" + "k" * 500
    assert journal.redactor()("text with nothing") == "text with nothing"
