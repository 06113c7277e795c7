"""The journal never shows one of the mock's keys, however a client happens to send it: in
the path, under a header of any name, escaped in a JSON body, percent-encoded in a query."""

from typing import Any

import httpx

KEY = "sekrit-KEY-123"
AUTH = {"Authorization": f"Bearer {KEY}"}


def test_a_key_sent_anywhere_is_redacted_in_the_journal(spawn_mock: Any) -> None:
    mock = spawn_mock("--key", KEY)
    base = mock.base_url
    httpx.get(f"{base}/v1/conversations/{KEY}", headers=AUTH)
    httpx.get(f"{base}/v1/conversations", headers={**AUTH, "X-Foo": KEY, "Referer": f"http://x/?k={KEY}"})
    escaped = '{"title": "sekrit\\u002dKEY-123", "metadata": {"sekrit\\u002dKEY\\u002d123": 1}}'
    httpx.post(f"{base}/v1/conversations", content=escaped, headers={**AUTH, "Content-Type": "application/json"})
    httpx.get(f"{base}/v1/conversations?ownerId=sekrit%2DKEY%2D123", headers=AUTH)
    journal = httpx.get(f"{base}/__mock__/requests")
    entries = journal.json()["requests"]
    assert len(entries) == 4
    assert KEY not in journal.text
    # What was redacted is still shown as redacted, not dropped.
    assert entries[0]["path"] == "/v1/conversations/[REDACTED]"
    assert entries[1]["headers"]["x-foo"] == "[REDACTED]"
    assert entries[2]["body"] == {"title": "[REDACTED]", "metadata": {"[REDACTED]": 1}}
    assert "ownerId=%5BREDACTED%5D" in entries[3]["query"] or "ownerId=[REDACTED]" in entries[3]["query"]
