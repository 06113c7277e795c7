"""Starting the mock: the banner, keys, seeds, ports and start-up errors."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml


def test_banner_prints_url_keys_and_a_working_curl_per_api(spawn_mock: Any) -> None:
    mock = spawn_mock()
    banner = mock.banner
    assert mock.base_url.startswith("http://127.0.0.1:")
    for key in ("demo-alice", "demo-bob", "demo-readonly  (read-only"):
        assert key in banner
    curls = [line.strip() for line in banner.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 2
    for line in curls:
        result = subprocess.run(
            ["bash", "-c", line + " -s -f -o /dev/null -w '%{http_code}'"], capture_output=True, text=True
        )
        assert result.stdout == "200", line


def test_custom_keys_and_readonly(spawn_mock: Any) -> None:
    mock = spawn_mock("--key", "k1", "--key", "k2:readonly")
    from mockserver.api.auth import label_of

    assert f"<{label_of('k1')}>" in mock.banner and "demo-alice" not in mock.banner
    k1 = {"Authorization": "Bearer k1"}
    assert httpx.post(mock.base_url + "/v1/conversations", json={}, headers=k1).status_code == 201
    assert (
        httpx.post(mock.base_url + "/v1/conversations", json={}, headers={"Authorization": "Bearer k2"}).status_code
        == 403
    )
    assert (
        httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": "Bearer demo-alice"}).status_code
        == 401
    )


def test_banner_never_prints_a_real_key(spawn_mock: Any) -> None:
    from mockserver.api.auth import label_of

    mock = spawn_mock("--key", "unnamed-s3cr3t", "--key", "team=named-s3cr3t:readonly", "--key", "demo-bob")
    assert "s3cr3t" not in mock.banner
    assert f"<{label_of('unnamed-s3cr3t')}>" in mock.banner and "<team's key>" in mock.banner
    # A demo key is public (README and docs/mock.md list it): shown verbatim, so the curl lines work.
    assert "demo-bob" in mock.banner


def test_seed_file_json_and_yaml_replace_demo_data(spawn_mock: Any, tmp_path: Path) -> None:
    data = {
        "tenants": {"team-key": {"runtype": [{"id": "conv_fixture", "title": "From a fixture"}], "systemprompt": []}}
    }
    for name, text in (("seed.json", json.dumps(data)), ("seed.yaml", yaml.safe_dump(data))):
        path = tmp_path / name
        path.write_text(text)
        mock = spawn_mock("--seed", str(path))
        listed = httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": "Bearer team-key"}).json()
        assert [c["id"] for c in listed["conversations"]] == ["conv_fixture"]
        # The demo tenants are still accepted keys, with no data.
        alice = httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": "Bearer demo-alice"}).json()
        assert alice["conversations"] == []


def test_empty_starts_with_nothing(spawn_mock: Any) -> None:
    mock = spawn_mock("--empty")
    assert (
        httpx.get(mock.base_url + "/v1/conversations", headers={"Authorization": "Bearer demo-alice"}).json()[
            "conversations"
        ]
        == []
    )


def test_bad_seed_or_flags_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"tenants": {"k": {"runtype": [{"title": 5}]}}}')
    cases = [
        ["--seed", str(bad)],
        ["--seed", str(tmp_path / "missing.json")],
        ["--error-rate", "2"],
        ["--key", "has space"],
        ["--api", "stripe"],
        ["--head-timeout", "0"],
        ["--head-timeout", "soon"],
        ["--head-timeout", "\uff13"],  # a full-width digit
        ["--journal-size", "-1"],
        ["--journal-size", "10001"],
    ]
    for args in cases:
        result = subprocess.run(
            [sys.executable, "-m", "mockserver", "--port", "0", *args], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 2, args
        assert "error" in result.stderr and "Traceback" not in result.stderr, result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--seed", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert "runtype[0].title" in result.stderr


def test_port_in_use_is_a_clear_error(spawn_mock: Any) -> None:
    mock = spawn_mock()
    port = mock.base_url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--port", port], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "cannot listen" in result.stderr


def test_every_option_left_out_takes_mock_configs_default() -> None:
    from mockserver import MockConfig
    from mockserver.cli import build_parser, config_from_args

    assert config_from_args(build_parser().parse_args([])) == MockConfig()
    help_text = " ".join(build_parser().format_help().split())
    defaults = MockConfig()
    for shown in (
        f"default {defaults.max_body})",
        f"default {defaults.upstream_timeout:g})",
        f"default {defaults.head_timeout:g})",
    ):
        assert shown in help_text


def test_every_flag_has_help_text() -> None:
    """`convo-mock --help` explains every flag it lists (argparse shows none for a missing help)."""
    import argparse

    from mockserver.cli import build_parser

    actions = [a for a in build_parser()._actions if a.option_strings and a.help != argparse.SUPPRESS]
    assert len(actions) > 20  # the parser's flags were found
    missing = [a.option_strings[0] for a in actions if not (a.help or "").strip()]
    assert missing == []


def test_proxy_output_files_are_checked_before_the_start(tmp_path: Path) -> None:
    # A recording or report path that cannot be written is found now, not after the session.
    proxy = [sys.executable, "-m", "mockserver", "--port", "0", "--upstream", "http://127.0.0.1:1"]
    for flag in ("--record", "--json"):
        done = subprocess.run(
            [*proxy, flag, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, flag
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("convo-mock: error:") and flag in line and "is a directory" in line


def test_the_mocks_log_lines_show_a_clients_control_characters_escaped(spawn_mock: Any) -> None:
    """A path (percent-decoded by the server) with ESC and OSC sequences reaches the mock's log
    line inert: `\\x1b`, never the byte itself."""
    mock = spawn_mock("--log-level", "debug")
    hostile = "/v1/conversations/%1B%5D0%3Bpwned%07%1B%5B2J"
    host, port = mock.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # A body announced and never sent: the client goes away mid-request, which is logged.
        sock.sendall(
            f"PUT {hostile} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer demo-alice\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode()
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("went away" in line for line in mock.output):
        time.sleep(0.05)
    mock.stop()
    [line] = [line for line in mock.output if "went away" in line]
    assert "\x1b" not in line and "\x07" not in line
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in line


def test_the_port_accepts_connections_from_the_banners_first_line_on() -> None:
    """A script that waits for the banner and connects at once is served, not refused (the
    socket listens before the banner; uvicorn accepts what waited in the backlog)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "--port", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("convo-mock serving"), first
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:  # refused before
            client.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
