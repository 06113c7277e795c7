"""The GitHub Action: action.yml's wiring, and its shell step run locally against a real mock
process with fake GITHUB_STEP_SUMMARY and GITHUB_OUTPUT files, installing nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "action-run.sh"
SECRETS = ("demo-alice", "demo-bob", "demo-readonly")


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())


def _run_script(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str], Path]:
    summary, outputs = tmp_path / "step_summary.md", tmp_path / "github_output"
    summary.write_text("", encoding="utf-8")
    outputs.write_text("", encoding="utf-8")
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "CONVO_ACTION_PYTHON": sys.executable,
        "CONVO_ACTION_SKIP_INSTALL": "1",
        # Were anything installed, it would be from here, and fail the step.
        "CONVO_ACTION_SOURCE": str(tmp_path / "no-such-package"),
        **env,
    }
    done = subprocess.run(["bash", str(SCRIPT)], env=full, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    return done, _outputs(outputs), summary


def test_action_yml_passes_every_input_to_the_script() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    assert step["run"] == 'bash "${{ github.action_path }}/scripts/action-run.sh"'
    passed = " ".join(step["env"].values())
    for name in action["inputs"]:
        if name != "python-version":
            assert "${{ inputs." + name + " }}" in passed, name
    # Keys travel in the environment, never on a command line.
    assert step["env"]["CONVO_API_KEY"] == "${{ inputs.api-key }}"
    assert "key" not in step["run"]
    assert not any("upload" in str(s.get("uses", "")) for s in action["runs"]["steps"])
    for output in action["outputs"].values():
        key = re.fullmatch(r"\$\{\{ steps\.run\.outputs\.([a-z-]+) \}\}", output["value"])
        assert key is not None


def test_script_builds_the_command_and_installs_unless_told_not_to(tmp_path: Path) -> None:
    # A stand-in interpreter that records how it was called: the script's logic alone.
    calls = tmp_path / "calls"
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {calls}\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {
        "CONVO_ACTION_PYTHON": str(fake),
        "CONVO_ACTION_SKIP_INSTALL": "",
        "CONVO_ACTION_SOURCE": "/src/convo-contracts",
        "CONVO_API_KEY": "demo-alice",
        "CONVO_OTHER_KEY": "",
        "CONVO_ACTION_API": "runtype",
        "CONVO_ACTION_ONLY": "auth,semantics",
        "CONVO_ACTION_READ_ONLY": "true",
        "CONVO_ACTION_FAIL_UNDER": "42.5",
        "CONVO_ACTION_HTML": "out/report.html",
    }
    done, outputs, _ = _run_script(tmp_path, **env)
    assert done.returncode == 0, done.stderr
    install, importable, command = calls.read_text(encoding="utf-8").splitlines()
    assert install == "-m pip install --quiet --disable-pip-version-check /src/convo-contracts"
    assert importable == "-c import contracts.cli"
    json_path = tmp_path / "convo-contracts-report.json"
    assert command == (
        f"-m contracts run --api runtype --json {json_path} --only auth,semantics --read-only"
        " --fail-under 42.5 --html out/report.html"
    )
    assert outputs["exit-code"] == "0" and outputs["html"] == "out/report.html"


def test_script_without_the_package_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    # A real Python that cannot import the package (no site-packages), as on a runner where
    # the install step was skipped: "could not run" (2), never a traceback with 1 ("violations").
    bare = tmp_path / "python"
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n', encoding="utf-8")
    bare.chmod(0o755)
    done, outputs, _ = _run_script(tmp_path, CONVO_ACTION_PYTHON=str(bare), CONVO_API_KEY="demo-alice")
    assert done.returncode == 2 and outputs["exit-code"] == "2"
    (line,) = done.stderr.splitlines()
    assert "not importable" in line and "Traceback" not in done.stderr
    missing, _, _ = _run_script(tmp_path, CONVO_ACTION_PYTHON=str(tmp_path / "no-python"))
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1


def test_script_against_a_real_mock(tmp_path: Path, spawn_mock: Any) -> None:
    mock = spawn_mock()
    env = {
        "CONVO_BASE_URL": mock.base_url,
        "CONVO_API_KEY": "demo-alice",
        "CONVO_OTHER_KEY": "demo-bob",
        "CONVO_READONLY_KEY": "",
        "CONVO_ACTION_API": "runtype",
        "CONVO_ACTION_ONLY": "boundaries,auth",
        "CONVO_ACTION_FAIL_UNDER": "0",
        "CONVO_ACTION_HTML": str(tmp_path / "report.html"),
    }
    done, outputs, summary = _run_script(tmp_path, **env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert outputs["exit-code"] == "0"
    report = json.loads(Path(outputs["json"]).read_text(encoding="utf-8"))
    assert float(outputs["coverage"]) == report["coverage"]["percent"]
    assert report["coverage"]["scope"]["readonlyKey"] is False  # an empty secret is no key
    assert summary.read_text(encoding="utf-8").startswith("## ✅ convo-contracts: conforming")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "id=verdict class='verdict pass'" in html
    written = done.stdout + done.stderr + html + summary.read_text() + Path(outputs["json"]).read_text()
    assert not any(secret in written for secret in SECRETS)

    # The same run under an unreachable gate: the step fails with exit code 1 and says why.
    (tmp_path / "github_output").write_text("", encoding="utf-8")
    done, outputs, summary = _run_script(tmp_path, **{**env, "CONVO_ACTION_FAIL_UNDER": "100"})
    assert done.returncode == 1 and outputs["exit-code"] == "1"
    assert "is below --fail-under 100" in done.stdout
