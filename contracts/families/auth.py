"""Auth: missing, malformed and unknown credentials are 401 on every operation; another
tenant's conversation is invisible (`--other-key`); a read-only key's writes are 403
(`--readonly-key`, where the spec documents 403)."""

from __future__ import annotations

import secrets

from specs import Operation
from specs.auth import scheme_of

from ..context import Context, body_json
from ..leeway import rule_of
from ..target import Credential, Exchange
from .fixtures import create_conversation, existing_systemprompt_id, item_path, send_listing


def _concrete_path(ctx: Context, op: Operation, item_id: str | None) -> str | None:
    if "{" not in op.path:
        return op.path
    return item_path(ctx, op.operation_id, item_id) if item_id else None


def _some_id(ctx: Context) -> str | None:
    if ctx.api == "runtype":
        if ctx.target.read_only:
            data = body_json(ctx.send(ctx.spec.operation("listConversations")))
            items = data.get("conversations") if isinstance(data, dict) else None
            return str(items[0]["id"]) if items else None
        created = create_conversation(ctx)
        return str(created["id"]) if created else None
    return existing_systemprompt_id(ctx)


def _bad_credentials(ctx: Context) -> list[tuple[str, dict[str, str], bool]]:
    """(label, headers, whether it is a well-formed but unknown key)."""
    scheme = scheme_of(ctx.api)
    unknown = "convo-contracts-unknown-" + secrets.token_hex(8)
    return [
        ("no credentials", {}, False),
        *((label, headers, False) for label, headers in scheme.malformed_examples(ctx.target.api_key)),
        (f"an unknown key in {scheme.header}", scheme.headers(unknown), True),
    ]


def credentials_required(ctx: Context) -> None:
    item_id = _some_id(ctx)
    for op in ctx.operations():
        path = _concrete_path(ctx, op, item_id)
        if path is None:
            ctx.skip(op, "credentials_required", "no conversation to address")
            continue
        if "401" not in op.statuses:
            ctx.skip(op, "credentials_required", "the spec documents no 401 here")
            continue
        for label, headers, unknown in _bad_credentials(ctx):
            exchange = ctx.send(
                op, path, credential=Credential.NONE, headers=headers, json={} if op.request_body else None
            )
            _expect_refused(ctx, op, exchange, label, unknown)


def _expect_refused(ctx: Context, op: Operation, exchange: Exchange, label: str, unknown: bool) -> None:
    """The key is documented as required, so accepting a request without a valid one is a
    failure. Which 4xx refuses it is documented only where the spec's 401 carries no x-rule;
    Runtype's 401 or 403 for an unknown key is open (rule 7)."""
    allowed = ["401", "403"] if unknown and "403" in op.statuses else ["401"]
    pointer = f"{op.pointer}/security"
    status = exchange.response.status_code if exchange.response is not None else None
    if rule_of(op, "401") is not None and status is not None and 400 <= status < 500 and str(status) not in allowed:
        ctx.outcome(op, "credentials_required")
        what = f"refused with {status} where our mock answers 401 for {label} (the documentation names no status)"
        ctx.observe(op, "credentials_required", what, exchange, pointer)
        return
    ctx.expect_status(op, "credentials_required", exchange, allowed, f"for {label}", pointer)


def _plant_marker(ctx: Context, marker: str) -> str | None:
    """A conversation of the main key that carries `marker` (None: none could be written)."""
    if ctx.api == "runtype":
        created = create_conversation(ctx, {"title": marker, "metadata": {"convo-contracts-marker": marker}})
        return str(created["id"]) if created else None
    found = existing_systemprompt_id(ctx)
    if found is None:
        return None
    update = ctx.spec.operation("updateConversation")
    exchange = ctx.send(update, item_path(ctx, "updateConversation", found), json={"metadata": {MARKER_KEY: marker}})
    return found if exchange.response is not None and exchange.response.is_success else None


MARKER_KEY = "convo-contracts-marker"


def tenant_isolation(ctx: Context) -> None:
    """Proof, not status codes: the main key writes a unique marker; the check fails only if
    the other key sees the marker, changes what the main key sees, or deletes it. Another
    key answered 200 for the same id with only its own data is a per-tenant id space: fine."""
    other = ctx.target.other_key
    ops = list(ctx.operations())
    reason = "needs --other-key" if other is None else "needs writes to plant a marker (not with --read-only)"
    if other is None or ctx.target.read_only:
        for op in ops:
            ctx.skip(op, "tenant_isolation", reason)
        return
    marker = f"{ctx.run_tag}-isolation-{secrets.token_hex(4)}"
    item_id = _plant_marker(ctx, marker)
    if item_id is None:
        for op in ops:
            ctx.skip(op, "tenant_isolation", "could not write a marker as the main key")
        return
    get = ctx.spec.operation("getConversation")
    own_path = item_path(ctx, "getConversation", item_id)
    before = body_json(ctx.send(get, own_path))
    intruder = f"{ctx.run_tag}-intruder-{secrets.token_hex(4)}"
    reads = [op for op in ops if op.method == "GET"]
    # Only writes addressed to the marked conversation: a create as the other key proves
    # nothing about the main key's data, and would leave a conversation in a tenant whose
    # data this run must not touch.
    writes = sorted((op for op in ops if op.method != "GET" and "{" in op.path), key=lambda op: op.method == "DELETE")
    for op in reads:  # first look, then touch
        params = {"ownerId": ctx.run_tag} if op.parameter("ownerId") else {}
        path = _concrete_path(ctx, op, item_id)
        exchange = send_listing(ctx, op, params, path, credential=Credential.OTHER)
        text = exchange.response.text if exchange.response is not None else ""
        hidden = f"the other key not to see the main key's marker {marker}"
        if ctx.expect(op, "tenant_isolation", marker not in text, hidden, exchange):
            _note_shared_id(ctx, op, exchange)
    for op in writes:
        body = _intruding_body(op, intruder)
        exchange = ctx.send(op, _concrete_path(ctx, op, item_id), credential=Credential.OTHER, json=body)
        seen = ctx.send(get, own_path)
        after = body_json(seen)
        if op.method == "DELETE":
            ok = seen.response is not None and seen.response.is_success
            expected = "the main key's conversation to survive the other key's delete"
        else:
            ok = after == before
            expected = "the main key's conversation unchanged by the other key's update"
        answered = exchange.response.status_code if exchange.response is not None else exchange.error
        proof = f"{expected} (the other key's {op.method} answered {answered})"
        if ctx.expect(op, "tenant_isolation", ok, proof, seen):
            _note_shared_id(ctx, op, exchange)


def _intruding_body(op: Operation, intruder: str) -> dict[str, object] | None:
    if not op.request_body:
        return None
    properties = (op.request_schema() or {}).get("properties", {})
    body: dict[str, object] = {"metadata": {MARKER_KEY: intruder}}
    if "title" in properties:
        body["title"] = intruder
    return body


def _note_shared_id(ctx: Context, op: Operation, exchange: Exchange) -> None:
    """The other key answered 2xx for this id without the marker: its own conversation of
    the same id (rule 8's 404 is our mock's choice, not the documentation's)."""
    response = exchange.response
    if "{" in op.path and response is not None and response.is_success:
        ctx.observe(
            op,
            "tenant_isolation",
            f"the other key got {response.status_code} for the main key's id, without the main key's data"
            " (each key its own id space; our mock answers 404, rule 8)",
            exchange,
        )


def readonly_writes_forbidden(ctx: Context) -> None:
    readonly = ctx.target.readonly_key
    writes = list(ctx.operations(writes=True))
    for op in writes:
        if "403" not in op.statuses:
            ctx.skip(op, "readonly_forbidden", "the spec documents no 403 here")
        elif readonly is None:
            ctx.skip(op, "readonly_forbidden", "needs --readonly-key")
    if readonly is None:
        return
    listed = body_json(ctx.send(ctx.spec.operation("listConversations"), credential=Credential.READONLY))
    items = listed.get("conversations") if isinstance(listed, dict) else listed
    own_id = str(items[0]["id"]) if isinstance(items, list) and items and isinstance(items[0], dict) else None
    for op in writes:
        if "403" not in op.statuses:
            continue
        path = _concrete_path(ctx, op, own_id)
        if path is None:
            ctx.skip(op, "readonly_forbidden", "the read-only key sees no conversation to write to")
            continue
        exchange = ctx.send(op, path, credential=Credential.READONLY, json={} if op.request_body else None)
        ctx.expect_status(op, "readonly_forbidden", exchange, ["403"], "for a write with the read-only key (rule 7)")


CHECKS = [credentials_required, tenant_isolation, readonly_writes_forbidden]
# Under --read-only: the 401 checks send reads; tenant isolation says why it cannot run.
READ_ONLY_CHECKS = [credentials_required, tenant_isolation]
