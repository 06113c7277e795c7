"""The proxy's violations as a report in the conformance suite's JSON format (`--json PATH`).

Same schema as `convo-contracts --json` (README, "JSON report"), with `family: "traffic"`:
one result per operation × direction (`check`: `request` or `response`) — failed with its
failures, observed with its observations (and no failure), passed when traffic went through
without either, skipped when the app never called it — and one failed result per unknown
operation. The behaviour monitor's findings name the exchanges they rest on (`restsOn`).
Written here, not by importing contracts: the mock sits below the suite.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import specs
from specs.redact import redact_url

from ..persistence import write_atomic
from .endpoint import ProxyState
from .violations import Examples, Violation

SCHEMA_VERSION = 1  # the suite's JSON report version this follows
FAMILY = "traffic"


def _failure(example: Violation, count: int) -> dict[str, Any]:
    return {
        "expected": f"{example.rule}: {example.message}",
        "actual": example.value,
        "specPointer": example.pointer,
        "curl": example.curl,
        "count": count,
        "restsOn": list(example.rests_on),
    }


def _observation(example: Violation, count: int) -> dict[str, Any]:
    return {
        "what": f"{example.rule}: {example.message}",
        "evidence": example.value,
        "specPointer": example.pointer,
        "curl": example.curl,
        "count": count,
        "restsOn": list(example.rests_on),
    }


Grouped = dict[tuple[str, str | None, str, str, str], list[dict[str, Any]]]


def _grouped(examples: Examples, shape: Callable[[Violation, int], dict[str, Any]]) -> Grouped:
    grouped: Grouped = defaultdict(list)
    for (api, method, path, direction, _rule, operation_id, _pointer), (example, count) in examples.items():
        check = direction if operation_id is not None else "unknownOperation"
        grouped[(api, operation_id, method, path, check)].append(shape(example, count))
    return grouped


def as_dict(state: ProxyState, base_url: str) -> dict[str, Any]:
    failures = _grouped(state.violations.examples, _failure)
    observations = _grouped(state.violations.observed_examples, _observation)
    results: list[dict[str, Any]] = []
    for api in state.upstreams:
        for op in specs.load(api).operations:
            seen = state.exchanged[(api, op.operation_id)]
            for check in ("request", "response"):
                where = (api, op.operation_id, op.method, op.path, check)
                found, observed = failures.pop(where, []), observations.pop(where, [])
                status = "failed" if found else "observed" if observed else "passed" if seen else "skipped"
                results.append(_result(*where, status, found, seen, observed))
    for other, found in failures.items():
        results.append(_result(*other, "failed", found, 0, observations.pop(other, [])))
    for other, observed in observations.items():
        results.append(_result(*other, "observed", [], 0, observed))
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
        "summary": {s: sum(r["status"] == s for r in results) for s in ("passed", "failed", "observed", "skipped")},
        "results": results,
        "leftovers": [],
    }


def _result(
    api: str,
    operation_id: str | None,
    method: str,
    path: str,
    check: str,
    status: str,
    failures: list[dict[str, Any]],
    seen: int,
    observations: list[dict[str, Any]],
) -> dict[str, Any]:
    note = None
    if status == "skipped":
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
        "observations": observations,
    }


def write_json(state: ProxyState, base_url: str, path: Path) -> None:
    # Values were redacted when recorded; the whole text is redacted again for the known keys.
    text = orjson.dumps(as_dict(state, base_url), option=orjson.OPT_INDENT_2).decode()
    write_atomic(path, state.redactor()(text).encode())
