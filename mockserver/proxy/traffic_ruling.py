"""Which of an answer's shape findings prove documented behaviour broken, and which only show
the service choosing otherwise where the documentation leaves the point open: the suite's
rules (`contracts/families/schemathesis/ruling.py`, read from `specs/leeway.py`) for real
traffic.

- Error bodies are not documented (rule 6): a 4xx answer that is JSON of another shape or of
  another JSON media type (`application/problem+json`) is an observation. One that is no JSON at
  all (a gateway's HTML page, an unparsable body: `specs/media.py`) stays a violation, as in
  the suite, and so does a 5xx (the suite fails every 5xx).
- Another 4xx than the spec's where the documentation names no status for the error (every
  systemprompt.io error, rules 9 and 19), or which 4xx refuses a bad credential where the 401
  is only our rule (systemprompt.io, rule 9): an observation.

Everything else stays a violation: a 2xx of the wrong shape, a 5xx, a status the docs rule out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from specs.leeway import CREDENTIAL_STATUSES, credential_status_open, error_status_open
from specs.media import not_json

from .exchange import Finding
from .traffic_check import OperationChecks

# Findings about the answer's status, and those about its media type or body.
_STATUS = "status"
_UNJUDGED = frozenset({"incompleteResponse", "required"})  # a broken-off answer; a required header


def ruled(
    checks: OperationChecks, status: int, findings: Iterable[Finding], content_type: str = "", body: bytes | None = None
) -> list[Finding]:
    """`findings` of an answer with `status` (its content type, its body when held), those on
    open points turned into observations."""
    op = checks.operation
    result = []
    json_answer: bool | None = None  # worked out when first needed
    for finding in findings:
        why = None
        if finding.rule == _STATUS:
            if error_status_open(op, status):
                why = "the documentation names no status for this error"
            elif str(status) in CREDENTIAL_STATUSES and credential_status_open(op):
                why = "which 4xx refuses a bad credential is our rule 9, not the documentation's"
        elif 400 <= status < 500 and finding.rule not in _UNJUDGED:
            if json_answer is None:
                json_answer = not_json(op, status, content_type, body if body is not None else b"{}") is None
            if json_answer:
                why = "error bodies are not documented (rule 6)"
        if why is not None:
            finding = dataclasses.replace(finding, observation=True, message=f"{finding.message} ({why})")
        result.append(finding)
    return result


__all__ = ["ruled"]
