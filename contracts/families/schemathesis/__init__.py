"""Schemathesis itself: its phases (examples, coverage, fuzzing, stateful over the specs'
links) and every check it has, object-level authorization included when a second key is
given. It runs as its own CLI with a generated config; its NDJSON engine events (machine
output, `--report ndjson`) are read back into our outcomes under Schemathesis' own check
names, each case under the operation it really called.

A failing Schemathesis check is a verdict only where it proves documented behaviour broken;
where the documentation leaves the point open (`ruling`), it is an observation."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from specs import Operation
from specs.text import shorten

from ...context import Context
from ...errors import CannotRun
from ...results import EXCERPT, Evidence, Failure, Observation
from ...settings import THREAD_SAFE_AST
from ...target import auth_headers
from .events import Run, read_events
from .hooks import CREATED_FILE_ENV, RUN_TAG_ENV
from .ruling import Verdict, judge

# How long a terminated child may take to stop before it is killed.
_GRACE = 5.0
_STEP = 0.2
_TAIL_READ = 64 * 1024  # bytes of Schemathesis' console output read for an error's detail


def workers(requested: int) -> int:
    return requested if THREAD_SAFE_AST else 1


def _write_config(ctx: Context, workdir: Path) -> Path:
    """The config holding the credentials: a file readable by us only, in a directory
    removed however the run ends."""
    target = ctx.target
    names = [("main", target.api_key)] + ([("other", target.other_key)] if target.other_key else [])
    config = workdir / "schemathesis.toml"
    if len(names) > 1:
        identities = {
            "auth": [
                {
                    "name": name,
                    "fixedHeaders": [{"name": h, "value": v} for h, v in auth_headers(ctx.api, str(key)).items()],
                }
                for name, key in names
            ]
        }
        auth_file = workdir / "auth.json"
        auth_file.touch(mode=0o600)
        auth_file.write_text(json.dumps(identities))
        peers = json.dumps([n for n, _ in names])
        text = f"[auth.wfc]\npath = {json.dumps(str(auth_file))}\npeers = {peers}\n"
    else:
        # Schemathesis refuses `peers` with fewer than two names: one identity is plain headers.
        pairs = auth_headers(ctx.api, str(target.api_key)).items()
        text = "headers = { " + ", ".join(f"{json.dumps(h)} = {json.dumps(v)}" for h, v in pairs) + " }\n"
    config.touch(mode=0o600)
    config.write_text(text)
    return config


def _command(ctx: Context, workdir: Path, events: Path) -> list[str]:
    target = ctx.target
    command = [
        sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()",
        "--config-file", str(_write_config(ctx, workdir)),
        "run", str(ctx.spec.path),
        "--url", target.base_url.rstrip("/"),
        "--checks", "all",
        "--max-examples", str(target.max_examples),
        "--seed", str(target.seed),
        "--workers", str(workers(target.workers)),
        "--request-timeout", str(target.timeout),
        "--generation-database", "none",
        "--report", "ndjson",
        "--report-ndjson-path", str(events),
        "--no-color",
    ]  # fmt: skip
    if target.read_only:
        # The coverage phase also probes undeclared methods (POST, DELETE, PATCH, ...) on
        # every path it tests: against production that could write. Leave it out.
        command += ["--include-method", "GET", "--phases", "examples,fuzzing,stateful"]
    return command


def _time_left(ctx: Context) -> float | None:
    left = ctx.target.remaining()
    return None if left is None else max(left, 0.0)


def _run_once(ctx: Context, workdir: Path) -> tuple[Run, str]:
    """One Schemathesis run: its events, and the tail of its console output for errors."""
    events, console = workdir / "events.ndjson", workdir / "console.txt"
    created = workdir / "created.txt"
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "contracts.families.schemathesis.hooks",
        CREATED_FILE_ENV: str(created),
        RUN_TAG_ENV: ctx.run_tag,
    }
    with console.open("w", encoding="utf-8") as out:
        child = subprocess.Popen(
            _command(ctx, workdir, events), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir
        )
        timed_out = False
        try:
            # Waited for in short steps: a signal's exception (Interrupted, KeyboardInterrupt)
            # gets its turn between them, and the run-wide deadline is kept.
            while child.poll() is None:
                left = _time_left(ctx)
                if left is not None and left <= 0:
                    timed_out = True  # stop it and read what it found so far
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=min(_STEP, left) if left is not None else _STEP)
        finally:
            # Also on Interrupted/KeyboardInterrupt: no orphan keeps sending requests.
            _stop(child)
            if created.exists():
                ctx.created.extend(line for line in created.read_text().splitlines() if line)
    run = read_events(events) if events.exists() else Run()
    tail = _tail(console) if console.exists() else ""
    if not run.finished and not timed_out and run.tool_error is None:
        run.tool_error = f"Schemathesis stopped without finishing (exit code {child.returncode})"
    return run, tail


def _tail(console: Path) -> str:
    """The end of Schemathesis' console output, bounded in what is read (redacted and cut by
    the caller: the cut falls far from what is shown)."""
    with console.open("rb") as handle:
        handle.seek(max(console.stat().st_size - _TAIL_READ, 0))
        return handle.read().decode("utf-8", errors="replace")


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=_GRACE)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def schemathesis_checks(ctx: Context) -> None:
    run, tail = Run(), ""
    for _attempt in range(2):  # a tool error is retried once, then the run cannot go on
        with tempfile.TemporaryDirectory(prefix="convo-contracts-") as tmp:
            run, tail = _run_once(ctx, Path(tmp))
        if run.tool_error is None:
            break
    if run.tool_error is not None:
        redact = ctx.target.redactor
        detail = redact.excerpt(run.tool_error, 500) + "\n" + shorten(redact(tail).strip(), 1000, keep_end=True)
        raise CannotRun(f"{ctx.api}: Schemathesis failed twice (not a verdict on the server): {detail}")
    _record(ctx, run)


def _record(ctx: Context, run: Run) -> None:
    by_label = {f"{op.method} {op.path}": op for op in ctx.spec.operations}
    by_path: dict[str, Operation] = {}
    for each in ctx.spec.operations:
        by_path.setdefault(each.path, each)
    redact = ctx.target.redactor
    for case in run.cases:
        declared = by_label.get(case.label)
        # An undeclared method on a spec path (Schemathesis' method probes) is judged too,
        # under the path's first operation: a 500 there is still a 500.
        found = declared or by_path.get(case.path)
        if found is None:
            continue
        op = found
        if declared is not None:
            ctx.samples.append(case.sample(ctx.api, op.operation_id, redact))
        for check in case.checks:
            if check.status == "skip":
                if ctx.outcome(op, check.name).cases == 0:
                    ctx.skip(op, check.name, check.message or "skipped by Schemathesis")
                continue
            outcome = ctx.outcome(op, check.name)
            outcome.count_case()
            if check.status != "failure":
                continue
            ruling = judge(op, check, case)
            if ruling is None:
                continue
            why, pointer = redact(ruling.why), ruling.pointer or op.pointer
            # One finding seen on many cases is one entry, counted; its first case is the evidence.
            if outcome.seen_again(why, pointer):
                continue
            if ruling.kind is Verdict.FAILURE:
                outcome.add_failure(Failure(why, case.evidence(redact), pointer))
            else:
                outcome.add_observation(Observation(why, case.evidence(redact), pointer))
    for unanswered in run.server_errors:
        op = by_label.get(unanswered.label) or ctx.spec.operations[0]
        if unanswered.transport:
            ctx.outcome(op, "not_a_server_error").add_observation(
                Observation(
                    what="no answer within --timeout (or no connection): not proof of a server fault",
                    evidence=Evidence(redact.excerpt(unanswered.message, EXCERPT)),
                    spec_pointer=op.pointer,
                )
            )
            continue
        ctx.outcome(op, "not_a_server_error").add_failure(
            Failure(
                expected="a response (Schemathesis' request got none)",
                evidence=Evidence(redact.excerpt(unanswered.message, EXCERPT)),
                spec_pointer=op.pointer,
            )
        )


CHECKS = [schemathesis_checks]
# Under --read-only Schemathesis is told to send GETs only (`_command`).
READ_ONLY_CHECKS = CHECKS
