"""Where the documentation leaves a choice open, read from the specs: a response our rules
added (`x-rule`) is one a server may answer otherwise without breaking documented behaviour.

Both sides read it: the conformance suite (`contracts/leeway.py`) and the proxy's monitor
(`mockserver/proxy/traffic_ruling.py`), so a choice the suite calls an observation is one
the proxy calls an observation too.
"""

from __future__ import annotations

from specs import Operation

CREDENTIAL_STATUSES = ("401", "403")


def rule_of(op: Operation, status: str) -> int | None:
    """The project's rule behind this response of the operation, None if documented."""
    response = op.definition.get("responses", {}).get(status)
    rule = response.get("x-rule") if isinstance(response, dict) else None
    return int(rule) if rule is not None else None


def error_status_open(op: Operation, status: int | None) -> bool:
    """Whether another 4xx than the spec's is a server's free choice here: every 4xx the spec
    gives the operation, the credential ones aside, comes from our rules, not the docs."""
    if status is None or not 400 <= status < 500 or str(status) in CREDENTIAL_STATUSES:
        return False
    documented = [
        code
        for code in op.statuses
        if code.startswith("4") and code not in CREDENTIAL_STATUSES and rule_of(op, code) is None
    ]
    return not documented


def credential_status_open(op: Operation) -> bool:
    """Whether which 4xx refuses a missing or bad credential is open: the spec's 401 for it is
    only our rule (systemprompt.io, rule 9), not the documentation's."""
    return "401" not in op.statuses or rule_of(op, "401") is not None


__all__ = ["CREDENTIAL_STATUSES", "credential_status_open", "error_status_open", "rule_of"]
