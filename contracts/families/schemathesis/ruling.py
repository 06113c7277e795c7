"""Which failing Schemathesis checks prove documented behaviour broken, and which only show
the server choosing otherwise where the documentation leaves the point open.

Schemathesis judges against the spec; our specs are strict where the documentation is
strict and lenient where it is silent (`x-rule` marks the points our rules settle). A check
that only finds a stricter server, another error shape, or another answer to a question the
documentation never asks is an observation, not a failure. Every other failing check is a
failure, with Schemathesis' own finding as the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from specs import Operation
from specs.media import is_json_media_type, not_json

from ...leeway import error_status_open
from .events import Case, Check

# The documentation never lists undeclared methods: how a server answers them is its choice.
UNDOCUMENTED_METHODS = frozenset({"unsupported_method", "allow_header_conformance"})
# Error bodies are not documented (rule 6): their shape and headers are open, not their media
# type (an answer that is no JSON at all is a failure, `_not_json`).
BODY_KIND = frozenset({"response_schema_conformance", "content_type_conformance"})
RESPONSE_SHAPE = BODY_KIND | {"response_headers_conformance"}


class Verdict(StrEnum):
    FAILURE = "failure"
    OBSERVATION = "observation"


@dataclass(frozen=True)
class Ruling:
    kind: Verdict
    why: str  # for a failure: what was expected, naming the proof; for an observation: what was seen
    pointer: str = ""


def _request(case: Case) -> str:
    uri = str(case.request.get("uri", ""))
    query = uri.partition("?")[2]
    return f"{case.method} {case.path}" + (f"?{query}" if query else "")


def judge(op: Operation, check: Check, case: Case) -> Ruling | None:
    """The ruling on one failing check, or None when another check already holds the proof
    (a 5xx is `not_a_server_error`'s, whatever else it also breaks)."""
    found = f"Schemathesis {check.name} ({check.code} {check.title})".replace(" ()", "")
    status = case.status
    if status is not None and status >= 500 and check.name != "not_a_server_error":
        return None
    if check.name == "positive_data_acceptance":
        return Ruling(
            Verdict.OBSERVATION,
            f"undocumented constraint: `{_request(case)}` (valid by the spec) answered {status}",
            f"{op.pointer}/parameters" if "?" in _request(case) else op.pointer,
        )
    if check.name == "object_level_authorization":
        return Ruling(
            Verdict.OBSERVATION,
            f"another key got {status} for `{_request(case)}`, an id the first key used: no proof of a leak on its"
            " own (each key may have its own id space); auth · tenant_isolation checks with a marker",
        )
    if check.name in UNDOCUMENTED_METHODS:
        return Ruling(Verdict.OBSERVATION, f"a method the documentation does not list: {found}: {check.message}")
    if check.name in RESPONSE_SHAPE and status is not None and status >= 400:
        why = not_json(op, status, case.content_type(), case.response_text())
        if why is not None and check.name in BODY_KIND:
            return _not_json(op, check, case, status, why, found)
        return Ruling(
            Verdict.OBSERVATION,
            f"an error answer of another shape (error bodies are not documented, rule 6): {found}: {check.message}",
            f"{op.pointer}/responses",
        )
    if check.name == "status_code_conformance" and status is not None and error_status_open(op, status):
        return Ruling(
            Verdict.OBSERVATION,
            f"error status {status} for `{_request(case)}`: the documentation names no status for this error",
            f"{op.pointer}/responses",
        )
    return Ruling(Verdict.FAILURE, f"{found}: {check.message}".strip().rstrip(":"), op.pointer)


def _not_json(op: Operation, check: Check, case: Case, status: int, why: str, found: str) -> Ruling | None:
    """An error answer that is no JSON at all where only JSON is documented: a failure, proved
    by `content_type_conformance` when the media type is not JSON, else by
    `response_schema_conformance` (the body does not parse); None for the other check, whose
    finding is the same proof."""
    proof = "response_schema_conformance" if is_json_media_type(case.content_type()) else "content_type_conformance"
    if check.name != proof:
        return None
    return Ruling(
        Verdict.FAILURE,
        f"a JSON body, the only kind documented for {status} ({why}): rule 6 leaves an error's fields open,"
        f" not its media type; {found}: {check.message}".rstrip(": "),
        f"{op.pointer}/responses",
    )


__all__ = ["Ruling", "Verdict", "judge"]
