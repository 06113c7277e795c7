"""The proxy's violations as a report in the conformance suite's JSON format (`--json PATH`).

Same schema as `convo-contracts --json` (docs/suite.md, "JSON report"), with `family: "traffic"`:
one result per operation × direction (`check`: `request` or `response`) — failed with its
failures, observed with its observations (and no failure), passed when traffic went through
without either, skipped when the app never called it — and one failed result per unknown
operation. The behaviour monitor's findings name the exchanges they rest on (`restsOn`).
Written here, not by importing contracts: the mock sits below the suite.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import specs
from specs.redact import redact_url
from specs.text import inert_json

from ..persistence import write_atomic
from .endpoint import ProxyState
from .violations import MAX_EXAMPLES, Count, Examples, Violation

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


def _counted(counts: Count) -> Counter[_Group]:
    counted: Counter[_Group] = Counter()
    for (api, method, path, direction, _rule, operation_id), count in counts.items():
        counted[(api, operation_id, method, path, _check(direction, operation_id))] += count
    return counted


def _grouped(
    examples: Examples, shape: Callable[[Violation, int], dict[str, Any]]
) -> dict[_Group, list[dict[str, Any]]]:
    grouped: dict[_Group, list[dict[str, Any]]] = defaultdict(list)
    for (api, method, path, direction, _rule, operation_id, _pointer), (example, count) in examples.items():
        grouped[(api, operation_id, method, path, _check(direction, operation_id))].append(shape(example, count))
    return grouped


def as_dict(state: ProxyState, base_url: str) -> dict[str, Any]:
    # A result fails on its counted violations (observed on its counted observations); its
    # failures and observations are the examples kept of them (the first of each distinct
    # one, up to MAX_EXAMPLES).
    log = state.violations
    counted, noted = _counted(log.counts), _counted(log.observed)
    failures, observations = _grouped(log.examples, _failure), _grouped(log.observed_examples, _observation)
    results: list[dict[str, Any]] = []
    for api in state.upstreams:
        for op in specs.load(api).operations:
            seen = state.exchanged[(api, op.operation_id)]
            for check in ("request", "response"):
                group: _Group = (api, op.operation_id, op.method, op.path, check)
                failed, observed = counted.pop(group, 0), noted.pop(group, 0)
                status = "failed" if failed else "observed" if observed else "passed" if seen else "skipped"
                results.append(_result(*group, status, failures.get(group, []), seen, observations.get(group, [])))
    for other in counted:
        noted.pop(other, 0)
        results.append(_result(*other, "failed", failures.get(other, []), 0, observations.get(other, [])))
    for other in noted:
        results.append(_result(*other, "observed", [], 0, observations.get(other, [])))
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
    observations: list[dict[str, Any]],
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
        "observations": observations,
    }


def write_json(state: ProxyState, base_url: str, path: Path) -> None:
    # Values were redacted when recorded; the whole report is redacted again, parsed, with
    # every credential known by now. A server's text in it stays inert when it is printed.
    data = state.redactor().json(as_dict(state, base_url))
    write_atomic(path, inert_json(orjson.dumps(data, option=orjson.OPT_INDENT_2)))
