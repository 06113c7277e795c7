"""`convo-contracts run` against every hostile server, every report format written, a GitHub
step summary appended: each output is inert. The console holds no raw control character and
no key; no report file a raw control character (C0 but line feed and tab, DEL, C1) or a key;
the JUnit XML and the JSON parse; the Markdown (file and step summary), rendered as
CommonMark with GitHub's tables, holds no element the server's text made; the HTML no element,
attribute or script; no file holds a key; the run stays within its memory.

Issue 18's problems 3 (terminal injection), 4 (a key on the console) and 5 (reports a server
can break) are these tests, for the servers named after them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from corpus.hostile import CANARY, HOSTILE, Hostile, WireServer

from .conftest import run_suite
from .inert import (
    html_problems,
    json_problems,
    key_traces,
    markdown_problems,
    raw_control_bytes,
    raw_controls,
    xml_problems,
)

# What shows that the server's hostility reached the run (else the test proves nothing): the
# server's text, the key redacted, or what the run made of a bent answer, in the JSON report.
REACHED: dict[str, tuple[str, ...]] = {
    "key": ("[REDACTED]",),
    "terminal": (CANARY,),
    "report": (CANARY,),
}
BENT = {
    "status_999": ("999",),
    "status_600": ("600",),
    "status_099": ("no response",),
    "gzip_then_chunked": ("no response",),
    "unknown_transfer_coding": ("no response",),
    "huge_body": ("no response",),
    "endless_body": ("no response",),
    "slow_drip": ("no response",),
}
# A dripping answer costs the run its --timeout at each read: kept short.
EXTRA_ARGS = {"slow_drip": ("--timeout", "0.5")}
# The suite's own process, every report included, stays well under this (measured: ~80 MiB,
# ~300 MiB when Schemathesis runs in it); a body read whole (1 GiB, endless) would not.
SUITE_PEAK_RSS_KIB = 160 * 1024
SCHEMATHESIS_PEAK_RSS_KIB = 448 * 1024


def _evidence(hostile: Hostile) -> tuple[str, ...]:
    return BENT.get(hostile.name) or REACHED[hostile.harm]


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_every_output_of_the_suite_stays_inert(
    hostile: Hostile, hostile_server: Callable[[Hostile], WireServer], tmp_path: Path
) -> None:
    server = hostile_server(hostile)
    run = run_suite(server.base_url, hostile.families, tmp_path, *EXTRA_ARGS.get(hostile.name, ()))
    problems: dict[str, list[str]] = {}

    # A verdict (0 or 1), never "could not run" or a traceback: a server's answers are data.
    if run.code not in (0, 1) or b"Traceback" in run.stderr:
        problems["exit code"] = [f"{run.code}: {run.stderr[-300:]!r}"]
    for name, stream in (("stdout", run.stdout), ("stderr", run.stderr)):
        text = stream.decode("utf-8", "replace")
        problems[f"{name}: raw control characters"] = raw_controls(text)
        problems[f"{name}: keys"] = key_traces(text)
    for name in run.files:
        problems[f"{name}: keys"] = key_traces(run.read(name).decode("utf-8", "replace"))
        problems[f"{name}: raw control characters"] = raw_control_bytes(run.read(name))
    problems["junit"] = xml_problems(run.read("junit"))
    problems["json"] = json_problems(run.read("json"))
    for name in ("markdown", "step-summary"):
        problems[name] = markdown_problems(run.read(name).decode("utf-8", "replace"))
    problems["html"] = html_problems(run.read("html").decode("utf-8", "replace"))
    if run.peak_rss_kib > (SCHEMATHESIS_PEAK_RSS_KIB if "schemathesis" in hostile.families else SUITE_PEAK_RSS_KIB):
        problems["memory"] = [f"peak RSS {run.peak_rss_kib} KiB"]
    problems = {where: found for where, found in problems.items() if found}
    assert not problems, json.dumps(problems, indent=1)

    # Not vacuous: the run met the server's hostility, and each report was written.
    for name in ("junit", "json", "html", "markdown"):
        assert run.read(name), f"no {name} report"
    assert run.read("step-summary") == run.read("markdown")
    report: Any = json.loads(run.read("json"))
    text = json.dumps(report, ensure_ascii=False)
    assert any(mark in text for mark in _evidence(hostile)), f"the run never met {hostile.name}'s answers"
