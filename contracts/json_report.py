"""The machine-readable report (`--json PATH`); its schema is documented in README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .results import RunResult, Status
from .target import Target

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
        # The process's exit code: the run's, or 1 when --fail-under's gate failed.
        "exitCode": result.exit_code if exit_code is None else exit_code,
        "durationSeconds": round(result.duration, 3),
        "summary": {s.value: sum(o.status is s for o in result.outcomes) for s in Status},
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
