"""The machine-readable report (`--json PATH`); its schema is documented in docs/suite.md. A
finding's evidence adds its own fields (`Evidence.as_json`) beside the finding's."""

from __future__ import annotations

import json
from typing import Any

from specs.text import inert_json

from ..results import Failure, Observation, RunResult, Status
from ..target import Target
from .console import skip_reasons

SCHEMA_VERSION = 1


def as_dict(
    result: RunResult,
    target: Target,
    apis: list[str],
    families: list[str],
    coverage: dict[str, Any] | None = None,
    exit_code: int | None = None,
) -> dict[str, Any]:
    data = {
        "version": SCHEMA_VERSION,
        "target": {"baseUrl": target.base_url, "apis": apis, "families": families, "readOnly": target.read_only},
        # The process's exit code: the run's verdict, or 1 from --fail-under, 2 or 130/143 when it stopped.
        "exitCode": result.exit_code if exit_code is None else exit_code,
        "strict": result.strict,
        "durationSeconds": round(result.duration, 3),
        "summary": {s.value: result.count(s) for s in Status},
        "skipReasons": [{"reason": why, "count": n} for why, n in skip_reasons(result)],
        "results": [
            {
                "api": o.api,
                "operationId": o.operation_id,
                "method": o.method,
                "path": o.path,
                "family": o.family,
                "check": o.check,
                "status": o.status.value,
                "note": o.note,
                "cases": o.cases,
                "failures": [_failure(f) for f in o.failures],
                "observations": [_observation(b) for b in o.observations],
            }
            for o in result.outcomes
        ],
        "leftovers": result.leftovers,
    }
    if coverage is not None:
        data["coverage"] = coverage  # contracts.coverage.coverage_dict, versioned on its own
    return data


def _failure(failure: Failure) -> dict[str, Any]:
    return {
        "expected": failure.expected,
        "actual": failure.evidence.got,
        "specPointer": failure.spec_pointer,
        "count": failure.count,
        **failure.evidence.as_json(),
    }


def _observation(observation: Observation) -> dict[str, Any]:
    return {
        "what": observation.what,
        "evidence": observation.evidence.got,
        "specPointer": observation.spec_pointer,
        "count": observation.count,
        **observation.evidence.as_json(),
    }


def render(
    result: RunResult,
    target: Target,
    apis: list[str],
    families: list[str],
    coverage: dict[str, Any] | None = None,
    exit_code: int | None = None,
) -> bytes:
    """The report's bytes (UTF-8), every key redacted (the redactor knows a key's JSON-escaped
    forms) and inert (`specs.text.inert_json`: DEL and C1 controls as `\\u` escapes, as JSON
    writes C0 ones). A lone surrogate from a server's JSON is written as its `\\u` escape."""
    text = json.dumps(as_dict(result, target, apis, families, coverage, exit_code), indent=2, ensure_ascii=False)
    return inert_json(target.redactor(text).encode("utf-8", "backslashreplace"))
