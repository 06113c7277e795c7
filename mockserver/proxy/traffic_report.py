"""The proxy's violations as a report in the conformance suite's JSON format (`--json PATH`).

Same schema as `convo-contracts --json` (README, "JSON report"), with `family: "traffic"`:
one result per operation × direction (`check`: `request` or `response`) — failed with its
failures, passed when traffic went through without a violation, skipped when the app never
called it — and one failed result per unknown operation. Written here, not by importing
contracts: the mock sits below the suite.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

import specs
from specs.redact import redact_url

from ..persistence import write_atomic
from .endpoint import ProxyState
from .violations import MAX_EXAMPLES, Violation

SCHEMA_VERSION = 1  # the suite's JSON report version this follows
FAMILY = "traffic"
# api, operationId, method, path, check: one result
_Group = tuple[str, str | None, str, str, str]


def _failure(example: Violation, count: int) -> dict[str, Any]:
    return {
        "expected": f"{example.rule}: {example.message}",
        "actual": example.value,
        "specPointer": example.pointer,
        "curl": example.curl,
        "count": count,
    }


def as_dict(state: ProxyState, base_url: str) -> dict[str, Any]:
    # A result fails on its counted violations; its failures are the examples kept of them
    # (the first of each distinct failure, up to MAX_EXAMPLES).
    counted: Counter[_Group] = Counter()
    for (api, method, path, direction, _rule, operation_id), count in state.violations.counts.items():
        counted[(api, operation_id, method, path, _check(direction, operation_id))] += count
    failures: dict[_Group, list[dict[str, Any]]] = defaultdict(list)
    for (api, method, path, direction, _rule, operation_id, _pointer), (
        example,
        count,
    ) in state.violations.examples.items():
        failures[(api, operation_id, method, path, _check(direction, operation_id))].append(_failure(example, count))
    results: list[dict[str, Any]] = []
    for api in state.upstreams:
        for op in specs.load(api).operations:
            seen = state.exchanged[(api, op.operation_id)]
            for check in ("request", "response"):
                group = (api, op.operation_id, op.method, op.path, check)
                found = failures.get(group, [])
                status = "failed" if counted.pop(group, 0) else "passed" if seen else "skipped"
                results.append(_result(api, op.operation_id, op.method, op.path, check, status, found, seen))
    for api, operation_id, method, path, check in counted:
        found = failures.get((api, operation_id, method, path, check), [])
        results.append(_result(api, operation_id, method, path, check, "failed", found, 0))
    total = state.violations.total
    return {
        "version": SCHEMA_VERSION,
        "target": {
            "baseUrl": base_url,
            "apis": list(state.upstreams),
            "families": [FAMILY],
            "readOnly": False,
            "upstreams": {api: redact_url(url) for api, url in state.upstreams.items()},
        },
        "exitCode": 1 if total else 0,
        "durationSeconds": round(time.time() - state.started, 3),
        "summary": {s: sum(r["status"] == s for r in results) for s in ("passed", "failed", "skipped")},
        "results": results,
        "leftovers": [],
    }


def _check(direction: str, operation_id: str | None) -> str:
    return direction if operation_id is not None else "unknownOperation"


def _result(
    api: str,
    operation_id: str | None,
    method: str,
    path: str,
    check: str,
    status: str,
    failures: list[dict[str, Any]],
    seen: int,
) -> dict[str, Any]:
    note = None
    if status == "failed" and not failures:
        note = f"no example kept: the first {MAX_EXAMPLES} distinct failures have theirs"
    elif status == "skipped":
        note = "no traffic: the app never called it"
    elif status == "passed":
        note = f"{seen} request(s) without a violation"
    return {
        "api": api,
        "operationId": operation_id,
        "method": method,
        "path": path,
        "family": FAMILY,
        "check": check,
        "status": status,
        "note": note,
        "failures": failures,
    }


def write_json(state: ProxyState, base_url: str, path: Path) -> None:
    # Values were redacted when recorded; the whole report is redacted again, parsed, with
    # every credential known by now.
    data = state.redactor().json(as_dict(state, base_url))
    write_atomic(path, orjson.dumps(data, option=orjson.OPT_INDENT_2))
