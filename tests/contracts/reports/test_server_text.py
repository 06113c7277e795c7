"""A server's text in every report file the one writer writes: each format has one rule for
it, so no raw control character (C0 but our line feeds, DEL, C1) and no key reaches a file,
the JUnit XML and the JSON parse, and what they hold is shown escaped (`\\x1b`, `\\r`), not
carried in an escape of the format (`&#13;`) that a reader decodes back into a control."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

from contracts.coverage import Scope, compute
from contracts.reports.writer import Destinations, write
from contracts.results import Evidence, Failure, Observation, Outcome, RunResult, Status
from contracts.target import Target

from ..sampling import settings_for

KEY = "sk\"'\\<&>live0123abcd"  # characters XML, HTML, JSON and Python escape, around a core
CORE = "live0123abcd"
# What terminals act on, a bare CR, what XML 1.0 forbids, DEL and a C1 CSI, a lone surrogate.
HOSTILE = "\x1b]0;EVIL\x07\x1b[2J\rEVIL\x00\x0b\ufffe\x7f\x9b31m\ud800"
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("server-text")
    failed = Outcome("runtype", "getConversation", "GET", "/v1/conversations/{id}", "semantics", "round_trip")
    failed.add_failure(Failure(f"a title, got {HOSTILE}", Evidence(f"200 text/html{HOSTILE} {KEY}"), "p"))
    observed = Outcome("runtype", "listConversations", "GET", "/v1/conversations", "schemathesis", "x")
    observed.add_observation(Observation(f"another shape {HOSTILE}", Evidence(f"400 {HOSTILE}"), "p"))
    skipped = Outcome("runtype", "a", "GET", "/v1/conversations", "auth", "y", Status.SKIPPED, note=HOSTILE)
    result = RunResult([failed, observed, skipped], leftovers=[f"{HOSTILE}\nforged line", KEY])
    target = Target(base_url="http://127.0.0.1:1", api_key=KEY)
    families = ["semantics", "schemathesis", "auth"]
    files = {name: folder / f"report.{name}" for name in ("xml", "json", "html", "md")}
    destinations = Destinations(files["xml"], files["json"], files["html"], files["md"])
    coverage = compute([], Scope(apis=("runtype",), families=tuple(families)))
    write(result, settings_for(target, ["runtype"], families), destinations, 1, coverage)
    return files


@pytest.mark.parametrize("name", ["xml", "json", "html", "md"])
def test_no_raw_control_character_and_no_key_in_any_file(written: dict[str, Path], name: str) -> None:
    text = written[name].read_bytes().decode("utf-8")  # UTF-8 throughout: the surrogate escaped
    assert _RAW.findall(text) == []
    assert CORE not in text and "[REDACTED]" in text
    assert "EVIL" in text  # the server's text is shown, escaped


def _texts(root: ElementTree.Element) -> list[str]:
    return [t for e in root.iter() for t in (e.text or "", *e.attrib.values())]


def test_junit_parses_and_holds_the_servers_text_escaped_in_text_and_attributes(written: dict[str, Path]) -> None:
    root = ElementTree.fromstring(written["xml"].read_bytes())
    # Parsed, no text or attribute holds a control character: a bare \r is `\r`, not `&#13;`.
    assert [t for t in _texts(root) if re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe]", t)] == []
    (skipped,) = root.iter("skipped")
    assert skipped.get("message") == "\\x1b]0;EVIL\\x07\\x1b[2J\\rEVIL\\x00\\x0b\\ufffe\\x7f\\x9b31m\\ud800"
    (cleanup,) = [f for f in root.iter("failure") if f.get("message") == "could not delete"]
    assert (cleanup.text or "").split("\n") == [
        "\\x1b]0;EVIL\\x07\\x1b[2J\\rEVIL\\x00\\x0b\\ufffe\\x7f\\x9b31m\\ud800\\nforged line",  # one id, one line
        "[REDACTED]",
    ]


def test_json_keeps_the_servers_text_as_data(written: dict[str, Path]) -> None:
    data: Any = json.loads(written["json"].read_bytes())
    (failed,) = [r for r in data["results"] if r["failures"]]
    # The JSON escapes are the only change: parsed, the evidence is what the server sent.
    assert failed["failures"][0]["actual"] == f"200 text/html{HOSTILE} [REDACTED]"
    assert data["leftovers"] == [f"{HOSTILE}\nforged line", "[REDACTED]"]


def test_html_shows_the_servers_text_escaped(written: dict[str, Path]) -> None:
    text = written["html"].read_text(encoding="utf-8")
    assert "<dd>200 text/html\\x1b]0;EVIL\\x07\\x1b[2J\\rEVIL\\x00" in text
