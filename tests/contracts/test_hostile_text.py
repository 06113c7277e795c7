"""A server's text is data (issue 18, items 3 to 5): run against a server that answers
terminal escapes, Markdown and HTML, and returns the caller's key as an id, every output of
`convo-contracts run` stays inert and keyless. Asserted on data: the console's bytes, the
JUnit XML parsed, the JSON parsed, the Markdown and the job summary rendered by a CommonMark
renderer, the HTML parsed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from mockserver.background import BackgroundServer

from .hostile_server import MARKER, HostileServer
from .reports.commonmark import headings, stranger_elements

KEY = "demo-alice"
# A raw control byte: C0 but the line feed, DEL; C1 controls and bidirectional or zero-width
# format characters as UTF-8 text.
_RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]")
_INVISIBLE = re.compile("[\x80-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Run:
    code: int
    stdout: bytes
    stderr: bytes
    reports: dict[str, Path]
    summary: Path


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("hostile")
    reports = {name: folder / f"report.{name}" for name in ("json", "xml", "md", "html")}
    summary = folder / "step-summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    with BackgroundServer(HostileServer()) as server:
        done = subprocess.run(
            [
                sys.executable, "-m", "contracts", "run", "--api", "runtype", "--only", "semantics,boundaries",
                "--base-url", server.base_url, "--api-key", KEY,
                "--json", str(reports["json"]), "--junit-xml", str(reports["xml"]),
                "--markdown", str(reports["md"]), "--html", str(reports["html"]),
            ],
            capture_output=True, env=env, timeout=600,
        )  # fmt: skip
    return Run(done.returncode, done.stdout, done.stderr, reports, summary)


def _results(run: Run) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run.reports["json"].read_text(encoding="utf-8"))
    return data


def test_the_server_did_attack(hostile_run: Run) -> None:
    """The run found the server's text and its key-as-id: the outputs had something to leak."""
    data = _results(hostile_run)
    assert hostile_run.code == 1 and data["exitCode"] == 1
    got = [f["actual"] for r in data["results"] for f in r["failures"]]
    assert any(MARKER in g and "\x1b]0;" in g for g in got)  # the raw escapes are data in the JSON
    assert data["leftovers"] and all("[REDACTED]" in item for item in data["leftovers"])


def test_console_bytes_hold_no_control_character_and_no_key(hostile_run: Run) -> None:
    for stream in (hostile_run.stdout, hostile_run.stderr):
        assert _RAW_CONTROL.findall(stream) == []
        assert _INVISIBLE.findall(stream.decode("utf-8")) == []
        assert KEY.encode() not in stream
    out = hostile_run.stdout.decode("utf-8")
    # What the server sent is shown, escaped: the evidence is still readable.
    assert "\\x1b]0;EVIL title\\x07" in out and "\\r# EVIL heading" in out
    leftovers = out.split("Could not clean up:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert leftovers and all("[REDACTED]" in line for line in leftovers)
    # No line of ours was forged: every line the server's text reached starts as one of ours.
    for line in out.splitlines():
        if MARKER in line:
            assert re.match(r"^ {4}(expected|observed|spec|got|reproduce): |^ {15}\S", line), line


def test_junit_xml_parses_and_shows_the_escapes_visibly(hostile_run: Run) -> None:
    text = hostile_run.reports["xml"].read_text(encoding="utf-8")
    root = ElementTree.fromstring(text)  # raises on any character XML 1.0 forbids
    failures = "\n".join(f.text or "" for f in root.iter("failure"))
    assert MARKER in failures and "\\x1b]0;" in failures and "\\x00" in failures
    assert KEY not in text


def test_json_parses_without_the_key(hostile_run: Run) -> None:
    assert KEY not in hostile_run.reports["json"].read_text(encoding="utf-8")
    assert _results(hostile_run)["summary"]["failed"] > 0


@pytest.mark.parametrize("which", ["md", "summary"])
def test_markdown_and_the_job_summary_carry_no_element_of_the_servers(hostile_run: Run, which: str) -> None:
    path = hostile_run.summary if which == "summary" else hostile_run.reports["md"]
    text = path.read_text(encoding="utf-8")
    assert MARKER in text  # the server's text is shown: as code
    assert stranger_elements(text, MARKER) == []
    assert all(h.startswith(("❌ convo-contracts", "Failures", "Statuses")) for h in headings(text)), headings(text)
    assert KEY not in text


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_html_escapes_everything(hostile_run: Run) -> None:
    text = hostile_run.reports["html"].read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(text)
    assert MARKER in text and KEY not in text
    assert [t for t, _ in parser.tags if t in ("img", "a", "iframe", "object", "embed")] == []
    assert [t for t, _ in parser.tags].count("script") == 1  # ours, the filters
    assert not [(t, a) for t, a in parser.tags if any(MARKER in (v or "") for _, v in a)]


def test_a_settings_text_is_inert_on_the_console_too(capsys: pytest.CaptureFixture[str]) -> None:
    from contracts.cli import main
    from mockserver import create_app

    hostile_id = "\x1b]0;owned\x07\x1b[2J\r\u202e" + KEY
    with BackgroundServer(create_app()) as server:
        args = ["run", "--api", "systemprompt", "--base-url", server.base_url, "--api-key", KEY]
        code = main([*args, "--systemprompt-id", hostile_id])
    err = capsys.readouterr().err
    assert code == 2
    (line,) = err.splitlines()
    assert "--systemprompt-id \\x1b]0;owned\\x07\\x1b[2J\\r\\u202e[REDACTED] is not a conversation" in line
    assert _RAW_CONTROL.findall(err.encode()) == [] and _INVISIBLE.findall(err) == []
