"""Where the documentation leaves a choice open, read from the specs: a response our rules
added (`x-rule`) is one a server may answer otherwise without breaking documented behaviour.
And where it does not: an answer that is not JSON at all where the spec documents only JSON
bodies (rule 6 leaves an error's fields open, not its media type)."""

from __future__ import annotations

import json

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


def is_json_media_type(content_type: str) -> bool:
    """`application/json`, or a JSON-based type (`application/problem+json`), parameters aside."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def documents_json_only(op: Operation, status: int) -> bool:
    """Whether the spec gives this status of `op` a body, and JSON bodies only."""
    response = op.definition.get("responses", {}).get(str(status))
    content = response.get("content") if isinstance(response, dict) else None
    return isinstance(content, dict) and bool(content) and all(is_json_media_type(media) for media in content)


def not_json(op: Operation, status: int, content_type: str, body: bytes | str) -> str | None:
    """Why an answer is no JSON at all where the spec documents only JSON for its status, e.g.
    a gateway's `text/html` 404 page: clients call `.json()` on errors too, so this is a
    failure whatever the status. None when it is JSON (of any shape), or when the spec
    documents something else (no body, another media type) for this status."""
    if not documents_json_only(op, status):
        return None
    if not is_json_media_type(content_type):
        return f"{content_type or 'no Content-Type'} is not a JSON media type"
    try:
        json.loads(body)
    except ValueError:
        return "the body is not JSON"
    return None
