"""The machine-readable report (`--json PATH`); its schema is documented in README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..results import RunResult, Status
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
                "failures": [
                    {
                        "expected": f.expected,
                        "actual": f.actual,
                        "specPointer": f.spec_pointer,
                        "curl": f.curl,
                        "count": f.count,
                    }
                    for f in o.failures
                ],
                "observations": [
                    {
                        "what": b.what,
                        "evidence": b.evidence,
                        "specPointer": b.spec_pointer,
                        "curl": b.curl,
                        "count": b.count,
                    }
                    for b in o.observations
                ],
            }
            for o in result.outcomes
        ],
        "leftovers": result.leftovers,
    }
    if coverage is not None:
        data["coverage"] = coverage  # contracts.coverage.coverage_dict, versioned on its own
    return data


def write_json(
    result: RunResult,
    target: Target,
    apis: list[str],
    families: list[str],
    path: Path,
    coverage: dict[str, Any] | None = None,
    exit_code: int | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(as_dict(result, target, apis, families, coverage, exit_code), indent=2, ensure_ascii=False)
    path.write_text(target.redactor(text), encoding="utf-8")
