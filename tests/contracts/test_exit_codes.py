"""Exit 2 means "could not run", and only that: each way a run cannot start (or cannot go
on) ends in one line on stderr naming the problem, never a traceback, never a key, and
argument mistakes are caught before any request is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.cli import main

KEY = "demo-alice"


def _journal(mock: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{mock.base_url}/__mock__/requests").json()["requests"]
    return entries


def _exit(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", *args])
    captured = capsys.readouterr()
    return code, captured.err


def _assert_one_clear_line(err: str, *secrets: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("convo-contracts: ")
    assert "Traceback" not in err
    assert not any(s in err for s in secrets)


# Caught before any request: the mock's journal stays empty.
BAD_ARGUMENTS = {
    "json report path is a directory": (["--json", "{tmp}"], "is a directory"),
    "junit report under a file": (["--junit-xml", "{tmp}/file/r.xml"], "is not a directory"),
    "timeout nan": (["--timeout", "nan"], "finite number of seconds"),
    "timeout inf": (["--timeout", "inf"], "finite number of seconds"),
    "timeout negative": (["--timeout", "-1"], "finite number of seconds"),
    "max-duration zero": (["--max-duration", "0"], "--max-duration"),
    "max-examples zero": (["--max-examples", "0"], "at least 1"),
    "workers not a number": (["--workers", "two"], "whole number"),
    "workers in full-width digits": (["--workers", "\uff12"], "whole number in ASCII digits"),
    "seed with an underscore": (["--seed", "1_0"], "whole number in ASCII digits"),
    "unknown family": (["--only", "auth,nonsense"], "unknown family nonsense"),
    "other key is the main key": (["--other-key", KEY], "same as its API key"),
    "read-only key is the main key": (["--readonly-key", KEY], "same as its API key"),
    "base URL ends in /v1": (["--base-url", "{url}/v1/"], "ends in /v1"),
    "base URL not http": (["--base-url", "ftp://127.0.0.1"], "http(s) URL"),
    "base URL with a query": (["--base-url", "{url}?x=1"], "query"),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS), ids=list(BAD_ARGUMENTS))
def test_bad_arguments_exit_2_before_any_request(
    case: str, mock: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra, message = BAD_ARGUMENTS[case]
    extra = [a.replace("{tmp}", str(tmp_path)).replace("{url}", mock.base_url) for a in extra]
    (tmp_path / "file").write_text("a file where a folder would go")
    args = ["--base-url", mock.base_url, "--api-key", KEY, *extra]
    code, err = _exit(args, capsys)
    assert code == 2
    assert message in err
    _assert_one_clear_line(err, KEY)
    assert _journal(mock) == []


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("demo-alice\r", "leading or trailing whitespace"),
        (" demo-alice", "leading or trailing whitespace"),
        ("demo-al\tice", "cannot go in an HTTP header"),
        ("démo-alice", "cannot go in an HTTP header"),
    ],
    ids=["crlf", "leading-space", "tab", "non-ascii"],
)
def test_keys_with_stray_characters_exit_2_without_printing_them(
    key: str, why: str, mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _exit(["--base-url", mock.base_url, "--api-key", key], capsys)
    assert code == 2 and why in err
    _assert_one_clear_line(err, key.strip(), "demo-al")
    assert _journal(mock) == []


def test_missing_base_url_or_key_exit_2(mock: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    for name in ("CONVO_BASE_URL", "CONVO_API_KEY", "CONVO_RUNTYPE_URL", "CONVO_RUNTYPE_KEY"):
        monkeypatch.delenv(name, raising=False)
    code, err = _exit(["--api-key", KEY], capsys)
    assert code == 2 and "no base URL for runtype" in err
    code, err = _exit(["--base-url", mock.base_url], capsys)
    assert code == 2 and "no API key for runtype" in err
    _assert_one_clear_line(err)


def test_unreachable_server_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit(["--base-url", "http://127.0.0.1:9", "--api-key", KEY], capsys)
    assert code == 2 and "cannot reach" in err
    _assert_one_clear_line(err, KEY)


@pytest.mark.parametrize("which", ["--api-key", "--other-key", "--readonly-key"])
def test_a_refused_key_exits_2_naming_which(which: str, mock: Any, capsys: pytest.CaptureFixture[str]) -> None:
    keys = {"--api-key": KEY, "--other-key": "demo-bob", "--readonly-key": "demo-readonly"}
    keys[which] = "not-a-key-123"
    args = ["--base-url", mock.base_url, *(x for pair in keys.items() for x in pair)]
    code, err = _exit(args, capsys)
    named = {"--api-key": "API key", "--other-key": "other key", "--readonly-key": "read-only key"}[which]
    assert code == 2 and f"401 to the {named}" in err
    _assert_one_clear_line(err, "not-a-key-123", KEY)
    assert {e["method"] for e in _journal(mock)} == {"GET"}


def test_a_base_url_whose_list_endpoint_is_404_names_the_likely_mistake(
    mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _exit(["--base-url", f"{mock.base_url}/api", "--api-key", KEY], capsys)
    assert code == 2
    assert "/api/v1/conversations answered 404" in err and "not at this base URL" in err
    _assert_one_clear_line(err, KEY)


def test_an_unknown_systemprompt_id_exits_2(mock: Any, capsys: pytest.CaptureFixture[str]) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    args = ["--api", "systemprompt", "--base-url", mock.base_url, "--api-key", KEY, "--systemprompt-id", unknown]
    code, err = _exit(args, capsys)
    assert code == 2 and f"--systemprompt-id {unknown} is not a conversation" in err
    _assert_one_clear_line(err, KEY)


def test_the_run_deadline_stops_the_run_cleans_up_and_exits_2(
    spawn_mock: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = spawn_mock("--latency", "150")
    report = tmp_path / "partial.json"
    args = ["--api", "runtype", "--base-url", slow.base_url, "--api-key", KEY, "--only", "semantics,boundaries"]
    code, err = _exit([*args, "--max-duration", "2", "--json", str(report)], capsys)
    assert code == 2 and "--max-duration" in err
    _assert_one_clear_line(err, KEY)
    # What it found before the deadline is reported; what it created is gone.
    assert report.exists()
    state = httpx.get(f"{slow.base_url}/__mock__/state").json()
    assert [c["id"] for c in state["tenants"][KEY]["runtype"]] == ["conv_demo1_1", "conv_demo1_2", "conv_demo1_3"]


# Paths that pass the up-front check (as root /proc looks writable; /dev/full exists and
# is writable) but fail when the report is written: one line naming the report, exit 2.
UNWRITABLE_REPORTS = {
    "json under /proc": (["--json", "/proc/nope/r.json"], "JSON report to /proc/nope"),
    "html to a full disk": (["--html", "/dev/full"], "HTML report to /dev/full"),
    "markdown to a full disk": (["--markdown", "/dev/full"], "Markdown report to /dev/full"),
}


@pytest.mark.parametrize("case", list(UNWRITABLE_REPORTS), ids=list(UNWRITABLE_REPORTS))
def test_a_report_that_cannot_be_written_exits_2_naming_it(
    case: str, mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    extra, message = UNWRITABLE_REPORTS[case]
    args = ["--api", "runtype", "--base-url", mock.base_url, "--api-key", KEY, "--only", "auth", *extra]
    code = main(["run", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    _assert_one_clear_line(err, KEY)
    assert message in err
