"""A sequence failure's evidence in every report format: the numbered steps (request, answer,
what the model expected) and the reproduction script, keys as environment variables only."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

from contracts.cli import main
from corpus.broken import FAULTS, FaultyApp
from mockserver.background import BackgroundServer

ALICE, BOB = "demo-alice", "demo-bob"


class _Pre(HTMLParser):
    """The text of each <pre class=…> in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[str]] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self._open = dict(attrs).get("class") or ""
            self.found.setdefault(self._open, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.found[self._open][-1] += data


def test_every_format_shows_the_numbered_steps_and_the_script(tmp_path: Path) -> None:
    fault = next(f for f in FAULTS if f.name == "list_touches_updated_at")
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "xml", "html", "md")}
    out = StringIO()
    reports = ["--json", str(paths["json"]), "--junit-xml", str(paths["xml"]), "--html", str(paths["html"])]
    reports += ["--markdown", str(paths["md"])]
    with BackgroundServer(FaultyApp(fault)) as server:
        keys = ["--api-key", ALICE, "--other-key", BOB]
        run = ["run", "--api", "runtype", "--base-url", server.base_url, *keys, "--only", "model"]
        code = main([*run, "--model-seconds", "300", *reports], out)
    assert code == 1
    data = json.loads(paths["json"].read_text())
    (failure,) = [f for r in data["results"] if r["check"] == fault.check for f in r["failures"]]
    trail = failure["trail"]
    steps = trail["steps"]
    assert trail["script"].startswith("#!/bin/sh")
    assert steps and all(
        {"method", "path", "query", "headers", "body", "status", "answer", "expected"} <= s.keys() for s in steps
    )
    assert all("authorization" not in {h.lower() for h in s["headers"]} for s in steps)
    first_line = f"1. {steps[0]['credential']} key: {steps[0]['method']} {steps[0]['path']}"
    # JUnit: the failure's text holds both.
    junit = ElementTree.fromstring(paths["xml"].read_text())
    texts = [(f.get("message") or "") + (f.text or "") for f in junit.iter("failure")]
    assert any(first_line in t and "#!/bin/sh" in t for t in texts)
    # HTML: the steps and the script, each preformatted.
    page = _Pre()
    page.feed(paths["html"].read_text())
    assert any(first_line in text for text in page.found.get("steps", []))
    assert any(text.startswith("#!/bin/sh") for text in page.found.get("script", []))
    # Markdown: both in fenced blocks.
    markdown = paths["md"].read_text()
    assert first_line in markdown and "#!/bin/sh" in markdown and "reproduction script" in markdown
    # Console: the same.
    console = out.getvalue()
    assert first_line in console and "#!/bin/sh" in console
    for text in (paths["json"].read_text(), paths["xml"].read_text(), paths["html"].read_text(), markdown, console):
        assert ALICE not in text and BOB not in text
        assert "CONVO_API_KEY" in text
