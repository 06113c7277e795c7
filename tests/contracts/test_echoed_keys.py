"""A server that echoes the API key back inside answers that break the spec: no part of the
key reaches the console or any report, wherever the evidence is cut short."""

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from contracts.cli import main
from mockserver.background import BackgroundServer

KEY = "sekrit-KEY-123-abcdefgh"


class _Echoing:
    """Every list answer carries the caller's credential inside an invalid item, after
    `padding` characters: somewhere a cut of the evidence text falls inside the key."""

    def __init__(self, padding: int) -> None:
        self.padding = padding

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        credential = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        await _answer(send, {"id": "y" * self.padding + credential + "-" + "x" * 400, "title": 5})


async def _answer(send: Send, item: dict[str, Any]) -> None:
    body = {"conversations": [item], "pagination": {"limit": 1, "hasMore": False}}
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


@pytest.mark.parametrize("padding", range(230, 290, 4))
def test_no_part_of_an_echoed_key_reaches_any_report(
    padding: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = {name: tmp_path / f"r.{name}" for name in ("json", "html", "xml", "md")}
    with BackgroundServer(_Echoing(padding)) as server:
        code = main(
            [
                "run", "--base-url", server.base_url, "--api-key", KEY, "--api", "runtype", "--only", "semantics",
                "--json", str(reports["json"]), "--html", str(reports["html"]),
                "--junit-xml", str(reports["xml"]), "--markdown", str(reports["md"]),
            ]
        )  # fmt: skip
    assert code == 1  # the answers break the spec: a verdict, with evidence
    data: Any = json.loads(reports["json"].read_text())
    assert any(r["check"] == "response_matches_spec" and r["status"] == "failed" for r in data["results"])
    captured = capsys.readouterr()
    texts = [captured.out, captured.err, *(p.read_text() for p in reports.values())]
    # Not the key, nor any 8-character prefix of it that a cut could leave behind.
    assert not any(KEY[:8] in text for text in texts)
