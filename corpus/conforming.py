"""Conforming servers that are not our mock: each makes another choice where the
documentation leaves one open (the project's rules in docs/behaviour.md, the specs' `x-rule`s) or
where a real deployment may legitimately differ. The suite must pass every one of them
(exit 0): a red result has to mean a broken documented contract, nothing else.

Each choice is the real mock with one rewrite, like the faults in `broken.py`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mockserver.api.store import Store
from specs.auth import scheme_of

from .broken import ALICE, BOB, Exchange, FaultyApp, tenant_of

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
METHODS = {
    "/v1/conversations": {"GET", "POST"},
    "/v1/conversations/{}": {"GET", "PUT", "DELETE"},
    "/v1/conversation": {"GET"},
    "/v1/conversation/{}": {"GET", "PUT"},
}


@dataclass(frozen=True)
class Choice:
    name: str
    description: str
    rule: str  # which open point: a rule of docs/behaviour.md, or what the docs leave unsaid
    apis: tuple[str, ...]
    before: Callable[[Exchange, Store], None] | None = None
    after: Callable[[Exchange, Store], None] | None = None
    setup: Callable[[Store], None] | None = None
    # Whether Schemathesis could be misled by it (its run costs time: only then is it run).
    schemathesis: bool = False

    def app(self) -> FaultyApp:
        return FaultyApp(self, self.setup)


def _is_item(e: Exchange) -> bool:
    return e.path.count("/") == 3 and e.path.rstrip("/") not in ("/v1/conversations", "/v1/conversation")


def metadata_replaced(e: Exchange, store: Store) -> None:
    """The sent `metadata` becomes the whole metadata: the stored keys are dropped first."""
    if e.systemprompt and e.method == "PUT" and isinstance(e.body, dict) and isinstance(e.body.get("metadata"), dict):
        conversation = store.systemprompt_get(tenant_of(e), e.path.rsplit("/", 1)[1].lower())
        if conversation is not None:
            conversation.metadata = {}


def create_200(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "POST" and e.status == 201:
        e.status = 200


def delete_204(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "DELETE" and e.status == 200:
        e.status, e.response = 204, None


def delete_echoes(e: Exchange, store: Store) -> None:
    if e.runtype and e.method == "DELETE" and e.status == 200:
        e.response = {"id": e.path.rsplit("/", 1)[-1], "deleted": True}


def malformed_uuid_other_status(e: Exchange, store: Store) -> None:
    if e.systemprompt and _is_item(e) and not UUID.match(e.path.rsplit("/", 1)[-1]) and e.status in (400, 404):
        e.status = 404 if e.status == 400 else 400


def media_type_400(e: Exchange, store: Store) -> None:
    if e.status == 415:
        e.status = 400


def problem_json(e: Exchange, store: Store) -> None:
    if e.status >= 400 and isinstance(e.response, dict):
        detail = {"type": "about:blank", "status": e.status, "detail": e.response.get("message", "")}
        e.response = json.dumps(detail).encode()
        e.response_headers = {**(e.response_headers or {}), "content-type": "application/problem+json"}


def nested_error_object(e: Exchange, store: Store) -> None:
    """JSON errors in another common shape: `error` an object, no `message` string."""
    if e.status >= 400 and isinstance(e.response, dict):
        e.response = {"error": {"code": e.status, "detail": e.response.get("message", "")}}


def next_cursor_absent(e: Exchange, store: Store) -> None:
    pagination = e.response.get("pagination") if isinstance(e.response, dict) else None
    if isinstance(pagination, dict) and pagination.get("nextCursor") is None:
        pagination.pop("nextCursor", None)


def _query(e: Exchange) -> dict[str, str]:
    return dict(p.split("=", 1) for p in e.query.split("&") if "=" in p)


def stricter_ranges(e: Exchange, store: Store) -> None:
    """limit at most 100 on both, and systemprompt.io's limit and page at least 1: bounds the
    documentation neither sets nor forbids."""
    if e.method != "GET" or _is_item(e):
        return
    for name, low, high in (("limit", 1, 100), ("page", 1, None)):
        raw = _query(e).get(name)
        if raw is None or not re.fullmatch(r"-?\d+", raw):
            continue
        value = int(raw)
        if value < low or (high is not None and value > high):
            e.answer(400, {"error": "bad_request", "message": f"{name} must be between {low} and {high or 'any'}"})


def limit_capped_at_50(e: Exchange, store: Store) -> None:
    """A list `limit` above 50 is a 400: neither API documents a largest page."""
    raw = _query(e).get("limit", "")
    if e.method == "GET" and not _is_item(e) and re.fullmatch(r"\d+", raw) and int(raw) > 50:
        e.answer(400, {"error": "bad_request", "message": "limit must be at most 50"})


def unknown_fields_rejected(e: Exchange, store: Store) -> None:
    known = {"title", "modelId", "systemPrompt", "ownerId", "metadata", "messages"}
    if e.runtype and e.method in ("POST", "PUT") and isinstance(e.body, dict) and set(e.body) - known:
        unknown = sorted(set(e.body) - known)
        e.answer(400, {"error": "bad_request", "message": f"unknown field(s): {', '.join(unknown)}"})


def _whole_seconds(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value):
        return value.split(".")[0].rstrip("Z") + "+00:00"
    return value


def whole_second_timestamps(e: Exchange, store: Store) -> None:
    """Timestamps to the second, with `+00:00` instead of `Z`: still RFC 3339."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("createdAt", "updatedAt"):
                if key in node:
                    node[key] = _whole_seconds(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(e.response)


def extra_fields(e: Exchange, store: Store) -> None:
    def tag(node: Any) -> None:
        if isinstance(node, dict) and "id" in node:
            node["object"] = "conversation"

    if isinstance(e.response, dict) and isinstance(e.response.get("conversations"), list):
        for item in e.response["conversations"]:
            tag(item)
    elif isinstance(e.response, list):
        for item in e.response:
            tag(item)
    elif e.status < 300:
        tag(e.response)


def undeclared_method_404(e: Exchange, store: Store) -> None:
    template = re.sub(r"^(/v1/conversations?/)[^/]+$", r"\1{}", e.path)
    allowed = METHODS.get(template)
    if allowed is not None and e.method not in allowed and e.method != "OPTIONS":
        e.answer(404, {"error": "not_found", "message": f"no route for {e.method} {e.path}"})


def invalid_body_422(e: Exchange, store: Store) -> None:
    """An invalid update body is a 422 instead of the mock's 400 (no status is documented)."""
    if e.systemprompt and e.method == "PUT" and e.status == 400:
        e.status = 422


def foreign_cursor_400(e: Exchange, store: Store) -> None:
    """A cursor that finds nothing (the mock's answer to one it did not issue: an empty last
    page) is a 400 instead: the cursor is opaque, and the docs say nothing of unknown ones."""
    if not (e.runtype and e.method == "GET" and not _is_item(e) and "cursor" in _query(e)):
        return
    page = e.response if isinstance(e.response, dict) else {}
    if e.status == 200 and page.get("data") == [] and not (page.get("pagination") or {}).get("nextCursor"):
        e.answer(400, {"error": "bad_request", "message": "unknown cursor"})


def case_sensitive_uuids(e: Exchange, store: Store) -> None:
    """A uuid spelled in upper case finds nothing: the docs do not say uuids are case-insensitive."""
    uuid = e.path.rsplit("/", 1)[-1]
    if e.systemprompt and _is_item(e) and UUID.match(uuid) and uuid != uuid.lower():
        e.answer(404, {"error": "not_found", "message": f"no conversation {uuid}"})


def refused_with_403(e: Exchange, store: Store) -> None:
    """systemprompt.io refuses any bad credential with 403 (its docs name no status), Runtype
    an unknown, well-formed key (401 or 403 is open there, rule 7)."""
    api = "runtype" if e.runtype else "systemprompt"
    if e.status == 401 and (e.systemprompt or scheme_of(api).credential(e.headers).token is not None):
        e.status = 403


def runtype_metadata_merged(e: Exchange, store: Store) -> None:
    """A Runtype update merges the sent `metadata` key by key into the stored one (the mock
    replaces it; rule 3 only says absent fields keep their value)."""
    if e.runtype and e.method == "PUT" and isinstance(e.body, dict) and isinstance(e.body.get("metadata"), dict):
        conversation = store.runtype_get(tenant_of(e), e.path.rsplit("/", 1)[1])
        if conversation is not None and isinstance(conversation.metadata, dict):
            e.body["metadata"] = {**conversation.metadata, **e.body["metadata"]}


def metadata_merge_patch(e: Exchange, store: Store) -> None:
    """systemprompt.io merges `metadata` as a JSON merge patch (RFC 7396): a null removes the
    key, objects merge all the way down (the mock merges the top level, rule 17). Applied
    to what was stored before, once the mock accepted the update."""
    sent = e.body.get("metadata") if isinstance(e.body, dict) else None
    conversation = store.systemprompt_get(tenant_of(e), e.path.rsplit("/", 1)[1].lower()) if e.systemprompt else None
    if e.method != "PUT" or not isinstance(sent, dict) or conversation is None:
        return
    if not e.status:  # before the mock: remember what the patch applies to
        _BEFORE[id(e)] = copy.deepcopy(conversation.metadata)
        return
    before = _BEFORE.pop(id(e), None)
    if e.status == 200 and before is not None and isinstance(e.response, dict):
        conversation.metadata = _merge_patch(before, sent)
        e.response["metadata"] = copy.deepcopy(conversation.metadata)


_BEFORE: dict[int, dict[str, Any]] = {}  # an update's metadata before it, while it is answered


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


def shared_ids(store: Store) -> None:
    """Each key its own id space, and both start from the same conversations (e.g. the
    documentation's example): the other key's copy answers 200 for the same id."""
    tenants = store.dump()["tenants"]
    tenants[BOB] = copy.deepcopy(tenants[ALICE])
    store.replace(tenants)


CHOICES = [
    Choice("create_200", "create answers 200, not 201", "rule 1", ("runtype",), after=create_200, schemathesis=True),
    Choice("delete_204", "delete answers 204 without a body", "rule 2", ("runtype",), after=delete_204),
    Choice("delete_echoes", "delete answers 200 with another JSON body", "rule 2", ("runtype",), after=delete_echoes),
    Choice(
        "malformed_uuid_other_status",
        "a malformed uuid answers the other of 400/404",
        "rule 9",
        ("systemprompt",),
        after=malformed_uuid_other_status,
    ),
    Choice(
        "media_type_400", "a body of another media type answers 400, not 415", "rule 11", ("runtype", "systemprompt"),
        after=media_type_400, schemathesis=True,
    ),
    Choice(
        "problem_json", "errors are application/problem+json of another shape", "rule 6", ("runtype", "systemprompt"),
        after=problem_json, schemathesis=True,
    ),
    Choice(
        "nested_error_object", "JSON errors whose `error` is an object and carry no `message`", "rule 6",
        ("runtype", "systemprompt"), after=nested_error_object, schemathesis=True,
    ),
    Choice("next_cursor_absent", "nextCursor absent, not null, on the last page", "rule 10", ("runtype",),
           after=next_cursor_absent),
    Choice(
        "stricter_ranges", "limit above 100, or systemprompt.io limit/page below 1, answer 400",
        "query bounds the docs do not set", ("runtype", "systemprompt"), before=stricter_ranges, schemathesis=True,
    ),
    Choice(
        "unknown_fields_rejected", "unknown request fields answer 400", "rule 4", ("runtype",),
        before=unknown_fields_rejected, schemathesis=True,
    ),
    Choice(
        "whole_second_timestamps", "timestamps to the second, +00:00 for Z", "timestamp precision and notation",
        ("runtype",), after=whole_second_timestamps,
    ),
    Choice("extra_fields", "conversations carry a field the docs do not list", "fields beyond the documented ones",
           ("runtype", "systemprompt"), after=extra_fields),
    Choice(
        "undeclared_method_404", "an undocumented method answers 404, not 405", "methods the docs do not list",
        ("runtype", "systemprompt"), before=undeclared_method_404, schemathesis=True,
    ),
    Choice(
        "metadata_replaced", "systemprompt.io update replaces metadata whole instead of merging it", "rule 17",
        ("systemprompt",), before=metadata_replaced,
    ),
    Choice(
        "shared_ids", "each key its own id space, both starting from the same conversations", "rule 8",
        ("runtype", "systemprompt"), setup=shared_ids, schemathesis=True,
    ),
    Choice(
        "refused_with_403", "a bad key answers 403 (systemprompt.io), an unknown key 403 (Runtype)", "rule 9",
        ("runtype", "systemprompt"), after=refused_with_403,
    ),
    Choice(
        "limit_capped_at_50", "list limit capped at 50 (400 above)", "query bounds the docs do not set",
        ("runtype", "systemprompt"), before=limit_capped_at_50, schemathesis=True,
    ),
    Choice(
        "invalid_body_422", "another 4xx (422) for invalid bodies on systemprompt.io", "rule 19", ("systemprompt",),
        after=invalid_body_422, schemathesis=True,
    ),
    Choice(
        "foreign_cursor_400", "a cursor the server did not issue answers 400", "rule 14", ("runtype",),
        after=foreign_cursor_400, schemathesis=True,
    ),
    Choice(
        "case_sensitive_uuids", "an upper-case uuid answers 404", "rule 16", ("systemprompt",),
        before=case_sensitive_uuids,
    ),
    # issue 20: choices the model family accepts
    Choice(
        "runtype_metadata_merged", "a Runtype update merges metadata key by key instead of replacing it", "rule 3",
        ("runtype",), before=runtype_metadata_merged,
    ),
    Choice(
        "metadata_merge_patch", "systemprompt.io update merges metadata as a JSON merge patch (null removes)",
        "rule 17", ("systemprompt",), before=metadata_merge_patch, after=metadata_merge_patch,
    ),
]  # fmt: skip
