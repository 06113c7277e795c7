"""Auth: missing, malformed and unknown credentials are 401 on every operation; another
tenant's conversation is invisible (`--other-key`); a read-only key's writes are 403
(`--readonly-key`, where the spec documents 403)."""

from __future__ import annotations

import secrets

from specs import Operation
from specs.auth import scheme_of

from ..context import Context, body_json
from .fixtures import create_conversation, existing_systemprompt_id, item_path


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


def _bad_credentials(ctx: Context) -> list[tuple[str, dict[str, str]]]:
    scheme = scheme_of(ctx.api)
    unknown = "convo-contracts-unknown-" + secrets.token_hex(8)
    return [
        ("no credentials", {}),
        *scheme.malformed_examples(ctx.target.api_key),
        (f"an unknown key in {scheme.header}", scheme.headers(unknown)),
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
        for label, headers in _bad_credentials(ctx):
            exchange = ctx.send(op, path, key=False, headers=headers, json={} if op.request_body else None)
            ctx.expect_status(op, "credentials_required", exchange, ["401"], f"for {label}", f"{op.pointer}/security")


def tenant_isolation(ctx: Context) -> None:
    other = ctx.target.other_key
    ops = list(ctx.operations())
    if other is None:
        for op in ops:
            ctx.skip(op, "tenant_isolation", "needs --other-key")
        return
    item_id = _some_id(ctx)
    if item_id is None:
        for op in ops:
            ctx.skip(op, "tenant_isolation", "no conversation of the main key to hide")
        return
    get = ctx.spec.operation("getConversation")
    before = body_json(ctx.send(get, item_path(ctx, "getConversation", item_id)))
    for op in ops:
        if "{" in op.path:
            body = {"metadata": {"convo-contracts": "other tenant was here"}} if op.request_body else None
            exchange = ctx.send(op, _concrete_path(ctx, op, item_id), key=other, json=body)
            ctx.expect_status(
                op,
                "tenant_isolation",
                exchange,
                ["404"],
                "for another tenant's conversation (rule 8: as if it did not exist)",
            )
        elif op.method == "GET":
            exchange = ctx.send(op, key=other, params=_list_everything(op))
            ctx.expect(
                op,
                "tenant_isolation",
                item_id not in exchange.response.text if exchange.response else True,
                f"another tenant's list not to show {item_id}",
                exchange,
            )
    after = body_json(ctx.send(get, item_path(ctx, "getConversation", item_id)))
    ctx.expect(
        get, "tenant_isolation", before == after, "the conversation unchanged by the other tenant's requests", None
    )


def _list_everything(op: Operation) -> dict[str, int]:
    limit = op.parameter("limit")
    return {"limit": 100} if limit else {}


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
    listed = body_json(ctx.send(ctx.spec.operation("listConversations"), key=readonly))
    items = listed.get("conversations") if isinstance(listed, dict) else listed
    own_id = str(items[0]["id"]) if isinstance(items, list) and items and isinstance(items[0], dict) else None
    for op in writes:
        if "403" not in op.statuses:
            continue
        path = _concrete_path(ctx, op, own_id)
        if path is None:
            ctx.skip(op, "readonly_forbidden", "the read-only key sees no conversation to write to")
            continue
        exchange = ctx.send(op, path, key=readonly, json={} if op.request_body else None)
        ctx.expect_status(op, "readonly_forbidden", exchange, ["403"], "for a write with the read-only key (rule 7)")


CHECKS = [credentials_required, tenant_isolation, readonly_writes_forbidden]
