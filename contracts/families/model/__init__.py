"""The model family: random sequences of documented operations, each answer judged by an
executable model of the documented behaviour that predicts it from every step before.

`CHECKS` holds one entry per API for the runner (each runs that API's state machine within
the budget); the checks that judge each step are named by invariant and listed in
`runtype.CHECKS` and `systemprompt.CHECKS` (`sequence.CHECKS`). A failure's evidence is the
shortest failing sequence Hypothesis found: numbered steps and a curl script.
"""

from __future__ import annotations

from typing import Any

from ...context import Context, body_json
from ...errors import CannotRun
from ...target import Credential
from .. import only_for
from ..fixtures import existing_systemprompt_id, item_path
from .explore import Budget, Explorer, run_machine
from .machines import MACHINES


def _budget(ctx: Context) -> Budget:
    target = ctx.target
    return Budget(target.model_examples, target.model_steps, target.model_seconds)


def _explore(ctx: Context, writable: str | None = None) -> None:
    explorer = Explorer(ctx, _budget(ctx), writable)
    run_machine(explorer, MACHINES[ctx.api](explorer))


@only_for("runtype")
def runtype_model(ctx: Context) -> None:
    _explore(ctx)


@only_for("systemprompt")
def systemprompt_model(ctx: Context) -> None:
    """systemprompt.io has no create: the main key writes the one conversation the run may
    write (as the semantics family does); its metadata is put back afterwards."""
    writable = existing_systemprompt_id(ctx) if not ctx.target.read_only else None
    before = _originals(ctx, writable)
    try:
        _explore(ctx, writable)
    finally:
        _restore(ctx, writable, before)


def _originals(ctx: Context, uuid: str | None) -> dict[str, dict[str, Any]]:
    """The writable conversation's metadata as each key sees it (a key with its own
    conversation of that uuid gets it back too)."""
    if uuid is None:
        return {}
    get = ctx.spec.operation("getConversation")
    found: dict[str, dict[str, Any]] = {}
    credentials = [Credential.MAIN] + ([Credential.OTHER] if ctx.target.other_key else [])
    for credential in credentials:
        data = body_json(ctx.send(get, item_path(ctx, "getConversation", uuid), credential=credential))
        if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
            found[credential.value] = data["metadata"]
    return found


def _restore(ctx: Context, uuid: str | None, before: dict[str, dict[str, Any]]) -> None:
    """Write the metadata back: whole (undoes a server that replaces), then the keys the run
    added set to null (all a server that merges lets a client do). Unjudged."""
    if uuid is None:
        return
    update, get = ctx.spec.operation("updateConversation"), ctx.spec.operation("getConversation")
    path = item_path(ctx, "updateConversation", uuid)
    for tenant, original in before.items():
        key = ctx.target.key_for(Credential(tenant))
        try:
            ctx.client.send(update.method, path, key=key, json={"metadata": original})
            now = body_json(ctx.client.send(get.method, path, key=key))
            added = [k for k in (now.get("metadata") or {}) if k not in original] if isinstance(now, dict) else []
            if added:
                ctx.client.send(update.method, path, key=key, json={"metadata": dict.fromkeys(added)})
        except CannotRun:  # the run's deadline, grace included: nothing more may be sent
            return


CHECKS = [runtype_model, systemprompt_model]
READ_ONLY_CHECKS = CHECKS  # under --read-only the machines draw reads only
