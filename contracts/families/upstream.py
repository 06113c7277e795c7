"""Schemathesis itself: its phases (examples, coverage, fuzzing, stateful over the specs'
links) and every check it has, object-level authorization included when a second key is
given. It runs as its own CLI with a generated config; its JUnit report is read back into
our outcomes so that reporting stays one thing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import specs

from ..context import Context
from ..results import Failure
from ..target import auth_headers
from ..upstream_hooks import CREATED_FILE_ENV

_CASE = re.compile(r"^\d+\. Test Case ID: \S+", re.MULTILINE)
_CHECK = re.compile(r"^- (ST\d+|\S+) (.+)$", re.MULTILINE)
_CURL = re.compile(r"^\s+(curl .+)$", re.MULTILINE)
_RESPONSE = re.compile(r"^\[(\d{3})\][^\n]*\n\n\s*`?(.*?)`?\s*$", re.MULTILINE)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def _command(ctx: Context, workdir: Path) -> list[str]:
    target = ctx.target
    names = [("main", target.api_key)] + ([("other", target.other_key)] if target.other_key else [])
    auth = {
        "auth": [
            {"name": n, "fixedHeaders": [{"name": h, "value": v} for h, v in auth_headers(ctx.api, k).items()]}
            for n, k in names
        ]
    }
    auth_file = workdir / "auth.json"
    auth_file.write_text(json.dumps(auth))
    auth_file.chmod(0o600)
    config = workdir / "schemathesis.toml"
    if len(names) > 1:
        peers = json.dumps([n for n, _ in names])
        config.write_text(f"[auth.wfc]\npath = {json.dumps(str(auth_file))}\npeers = {peers}\n")
    else:
        # Schemathesis refuses `peers` with fewer than two names: one identity is plain headers.
        headers = ", ".join(
            f"{json.dumps(h)} = {json.dumps(v)}" for h, v in auth_headers(ctx.api, target.api_key).items()
        )
        config.write_text(f"headers = {{ {headers} }}\n")
    config.chmod(0o600)
    command = [
        sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()",
        "--config-file", str(config),
        "run", str(specs.spec_path(ctx.api)),
        "--url", target.base_url.rstrip("/"),
        "--checks", "all",
        "--max-examples", str(target.max_examples),
        "--seed", str(target.seed),
        "--workers", str(target.workers),
        "--request-timeout", str(target.timeout),
        "--generation-database", "none",
        "--report", "junit",
        "--report-junit-path", str(workdir / "junit.xml"),
        "--no-color",
    ]  # fmt: skip
    if target.read_only:
        # The coverage phase also probes undeclared methods (POST, DELETE, PATCH, ...) on
        # every path it tests: against production that could write. Leave it out.
        command += ["--include-method", "GET", "--phases", "examples,fuzzing,stateful"]
    return command


def schemathesis_checks(ctx: Context) -> None:
    with tempfile.TemporaryDirectory(prefix="convo-contracts-") as tmp:
        workdir = Path(tmp)
        created = workdir / "created.txt"
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "contracts.upstream_hooks", CREATED_FILE_ENV: str(created)}
        result = subprocess.run(
            _command(ctx, workdir), capture_output=True, text=True, env=env, cwd=workdir, timeout=1800
        )
        if created.exists():
            ctx.created.extend(line for line in created.read_text().splitlines() if line)
        report = workdir / "junit.xml"
        if not report.exists():
            raise RuntimeError(
                "Schemathesis could not run: " + ctx.target.redactor((result.stdout + result.stderr)[-1500:])
            )
        _read_report(ctx, ElementTree.parse(report).getroot())


def _read_report(ctx: Context, root: ElementTree.Element) -> None:
    by_name = {f"{op.method} {op.path}": op for op in ctx.spec.operations}
    redact = ctx.target.redactor
    for case in root.iter("testcase"):
        name = case.get("name", "")
        op = by_name.get(name)
        problems = [*case.iter("failure"), *case.iter("error")]
        if op is None:
            # Stateful scenarios span operations: reported under the first one named.
            op = next((o for key, o in by_name.items() if key in name), None) or ctx.spec.operations[0]
        if not problems:
            ctx.outcome(op, "schemathesis_checks")
            continue
        for problem in problems:
            text = problem.text or problem.get("message") or ""
            blocks = [b for b in _CASE.split(text) if b.strip()] or [text]
            for block in blocks:
                checks = _CHECK.findall(block) or [("error", problem.get("message", "Schemathesis error"))]
                curl = _CURL.search(block)
                response = _RESPONSE.search(block)
                actual = f"{response.group(1)} {response.group(2)[:600]}" if response else block.strip()[:600]
                for code, title in checks:
                    outcome = ctx.outcome(op, _slug(title))
                    outcome.add_failure(
                        Failure(
                            expected=redact(f"Schemathesis {code}: {title}"),
                            actual=redact(actual),
                            spec_pointer=op.pointer,
                            curl=redact(curl.group(1)) if curl else None,
                        )
                    )


CHECKS = [schemathesis_checks]
