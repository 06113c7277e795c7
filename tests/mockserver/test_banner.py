"""The start-up banner describes the mock that is running: keys by label, a Try line that
answers data, chaos and the control token, and in proxy mode the upstreams and the checks."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from mockserver.api.auth import label_of
from mockserver.banner import Banner, describe
from mockserver.config import MockConfig
from mockserver.runtime import Runtime
from tests.conftest import ALICE

URL = "http://127.0.0.1:8000"


def _banner(config: MockConfig, upstreams: dict[str, str] | None = None) -> Banner:
    runtime = Runtime(config)
    try:
        return describe(URL, config, runtime, upstreams)
    finally:
        runtime.close()


def _curl_json(line: str) -> Any:
    done = subprocess.run(["bash", "-c", line + " -s -f"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, (line, done.stderr)
    return json.loads(done.stdout)


def test_the_demo_banner_names_keys_by_label_and_tries_a_tenant_with_data() -> None:
    banner = _banner(MockConfig())
    assert [(k.shown, k.label, k.readonly) for k in banner.keys] == [
        ("demo-alice", "alice", False),
        ("demo-bob", "bob", False),
        ("demo-readonly", "readonly", True),
    ]
    assert banner.try_as is not None and banner.try_as.startswith("as alice, ")
    assert all(ALICE in t.curl and not t.proxied for t in banner.tries)
    assert (banner.faults, banner.chaos, banner.control_token, banner.upstreams) == ((), (), False, {})


def test_with_a_seed_the_try_lines_use_a_key_whose_tenant_has_data(spawn_mock: Any, tmp_path: Path) -> None:
    tenants = {
        "empty-one": {},
        "team-key": {"runtype": [{"id": "conv_fixture", "title": "From a fixture"}], "systemprompt": []},
    }
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"tenants": tenants}))
    mock = spawn_mock("--seed", str(seed))
    assert "team-key" not in mock.banner  # a seed's tenant names are keys: shown by label
    lines = mock.banner.splitlines()
    [heading] = [line for line in lines if line.startswith("Try (")]
    found = re.search(r"as (key-[0-9a-f]{8}), 1 conversation: its key is the name of tenant #(\d+)", heading)
    assert found is not None, heading
    label, position = found.group(1), int(found.group(2))
    name = list(tenants)[position - 1]
    assert label == label_of(name)
    # Follow the hint: put the tenant's name from the seed in place of the placeholder.
    curls = [line.strip().replace(f"<{label}>", name) for line in lines if line.strip().startswith("curl ")]
    runtype = next(line for line in curls if "/v1/conversations" in line)
    assert [c["id"] for c in _curl_json(runtype)["conversations"]] == ["conv_fixture"]


def test_the_banner_says_what_chaos_is_on_and_whether_a_token_is_needed() -> None:
    token = "ctl-token-never-shown"
    config = MockConfig(
        latency_ms=20, error_rate=0.25, random_seed=7, faults=("status=503,times=2",), control_token=token
    )
    banner = _banner(config)
    assert banner.faults == ("status=503,times=2",)
    assert [c.split(" ", 2)[:2] for c in banner.chaos] == [["latency", "20"], ["error", "rate"]]
    assert "0.25" in banner.chaos[1] and "random seed 7" in banner.chaos[1]
    assert banner.control_token is True
    lines = banner.text().splitlines()
    assert not [line for line in lines if token in line]
    start = next(i for i, line in enumerate(lines) if line.startswith("Chaos on from the start"))
    assert [line.strip() for line in lines[start + 1 : start + 4]] == [*banner.chaos, "--fault status=503,times=2"]
    assert any(line.startswith("Control token: required") for line in lines)


def test_a_proxy_banner_lists_upstreams_and_checks_not_demo_tenants() -> None:
    config = MockConfig(upstreams=(("runtype", "http://u:pw@127.0.0.1:9"),), apis=("runtype",), sole_writer=True)
    banner = _banner(config, dict(config.upstreams))
    assert banner.keys == ()
    assert banner.upstreams == {"runtype": "http://u:[REDACTED]@127.0.0.1:9"}
    assert [c.split(":")[0] for c in banner.checks] == ["shapes", "behaviour"]
    assert "--sole-writer: a contradiction is a violation" in banner.checks[1]
    assert [t.proxied for t in banner.tries] == [True] and "<your runtype key>" in banner.tries[0].curl
    text = banner.text()
    assert "demo-alice" not in text and "pw" not in text


def test_a_proxy_that_mocks_one_api_lists_keys_for_that_one_only() -> None:
    config = MockConfig(upstreams=(("runtype", "http://127.0.0.1:9"),))
    banner = _banner(config, dict(config.upstreams))
    assert [k.label for k in banner.keys] == ["alice", "bob", "readonly"]
    assert {t.api: t.proxied for t in banner.tries} == {"runtype": True, "systemprompt": False}
    assert "behaviour" in banner.checks[1] and "observation" in banner.checks[1]
