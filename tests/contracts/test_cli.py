"""The command line: a full run against the real mock, exit statuses, reports, read-only
safety, and keys kept out of everything."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import httpx

from contracts.cli import main
from contracts.settings import FAMILIES

KEYS = ["--api-key", "demo-alice", "--other-key", "demo-bob", "--readonly-key", "demo-readonly"]
SECRETS = ("demo-alice", "demo-bob", "demo-readonly")


def test_full_run_against_the_real_mock_passes_and_reports(spawn_mock: Any, tmp_path: Path) -> None:
    mock = spawn_mock()
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "contracts",
            "run",
            "--api",
            "all",
            "--base-url",
            mock.base_url,
            *KEYS,
            "--max-examples",
            "5",
            "--junit-xml",
            str(junit),
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for family in FAMILIES:
        assert f"runtype       {family}" in result.stdout and f"systemprompt  {family}" in result.stdout
    assert "conforming:" in result.stdout
    data = json.loads(report.read_text())
    assert data["version"] == 1 and data["exitCode"] == 0 and data["summary"]["failed"] == 0
    assert {r["family"] for r in data["results"]} == set(FAMILIES)
    cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
    assert len(cases) == len(data["results"]) and not any(c.find("failure") is not None for c in cases)
    everything = result.stdout + result.stderr + junit.read_text() + report.read_text()
    assert not any(secret in everything for secret in SECRETS)
    # Every Runtype conversation the run created was deleted again.
    state = httpx.get(mock.base_url + "/__mock__/state").json()
    assert [c["id"] for c in state["tenants"]["demo-alice"]["runtype"]] == [
        "conv_demo1_1",
        "conv_demo1_2",
        "conv_demo1_3",
    ]


def test_read_only_run_sends_no_writes(spawn_mock: Any, capsys: Any) -> None:
    mock = spawn_mock()
    code = main(["run", "--base-url", mock.base_url, *KEYS, "--read-only", "--max-examples", "5"])
    assert code == 0, capsys.readouterr().out
    methods = {entry["method"] for entry in httpx.get(mock.base_url + "/__mock__/requests").json()["requests"]}
    assert methods == {"GET"}


def test_exit_2_when_it_cannot_run(spawn_mock: Any, capsys: Any) -> None:
    mock = spawn_mock()
    assert main(["run", "--base-url", "http://127.0.0.1:9", "--api-key", "k"]) == 2
    assert "cannot reach" in capsys.readouterr().err
    assert main(["run", "--base-url", mock.base_url, "--api-key", "wrong-key-123"]) == 2
    err = capsys.readouterr().err
    assert "401" in err and "wrong-key-123" not in err
    for args in (
        ["--api-key", "k", "--base-url", ""],
        ["--base-url", "ftp://x", "--api-key", "k"],
        ["--base-url", mock.base_url, "--api-key", "k", "--only", "nonsense"],
    ):
        assert main(["run", *args]) == 2, args
        assert "convo-contracts: " in capsys.readouterr().err


def test_settings_may_come_from_the_environment(spawn_mock: Any, tmp_path: Path) -> None:
    mock = spawn_mock()
    report = tmp_path / "r.json"
    env = {
        "CONVO_BASE_URL": mock.base_url,
        "CONVO_API_KEY": "demo-alice",
        "CONVO_ONLY": "auth,semantics",
        "CONVO_JSON": str(report),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "contracts", "run"], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert {r["family"] for r in data["results"]} == {"auth", "semantics"}
    # Without an other key, isolation is skipped with the reason, not failed.
    isolation = [r for r in data["results"] if r["check"] == "tenant_isolation"]
    assert isolation and all(r["status"] == "skipped" and "--other-key" in r["note"] for r in isolation)
    assert "demo-alice" not in result.stdout + result.stderr + report.read_text()


def test_failure_report_names_expectation_spec_location_and_curl(spawn_mock: Any, capsys: Any) -> None:
    mock = spawn_mock("--key", "alice", "--key", "bob")
    # "bob" used as the read-only key: it can write, so readonly_forbidden must fail.
    code = main(
        [
            "run",
            "--api",
            "runtype",
            "--base-url",
            mock.base_url,
            "--api-key",
            "alice",
            "--readonly-key",
            "bob",
            "--only",
            "auth",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "· auth · readonly_forbidden" in out
    assert "expected:  403 for a write with the read-only key" in out
    assert "spec:      runtype.yaml#/paths/~1v1~1conversations/post/responses" in out
    assert "reproduce: curl -X POST" in out and "Authorization: Bearer [REDACTED]" in out
    assert "VIOLATIONS FOUND" in out
