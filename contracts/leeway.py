"""Where the documentation leaves a choice open, read from the specs: a response our rules
added (`x-rule`) is one a server may answer otherwise without breaking documented behaviour.
The rules live in `specs/leeway.py`, read by the proxy's monitor too."""

from __future__ import annotations

from specs.leeway import CREDENTIAL_STATUSES, error_status_open, rule_of

__all__ = ["CREDENTIAL_STATUSES", "error_status_open", "rule_of"]
