"""One run: check the target is reachable and the key works, run each selected family per
API, delete what the run created, and return every outcome."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import specs

from .context import Context
from .errors import CannotRun
from .families import auth, boundaries, semantics, upstream
from .results import Failure, RunResult, Status
from .target import Client, Target

FAMILIES = ("schemathesis", "boundaries", "auth", "semantics")


def checks_of(family: str, api: str, read_only: bool) -> list[Callable[[Context], None]]:
    checks: list[Callable[[Context], None]]
    if family == "schemathesis":
        checks = list(upstream.CHECKS)
    elif family == "boundaries":
        checks = list(boundaries.CHECKS)
    elif family == "auth":
        checks = list(auth.CHECKS)
    else:
        checks = semantics.checks_for(api)
        if read_only:
            checks = [c for c in checks if c in semantics.READ_ONLY_CHECKS]
    return checks


def preflight(target: Target, api: str) -> None:
    client = Client(target, api)
    try:
        listing = specs.load(api).operation("listConversations")
        exchange = client.send(listing.method, listing.path, key=target.api_key)
    finally:
        client.close()
    if exchange.response is None:
        raise CannotRun(f"{api}: cannot reach {target.base_url}: {target.redactor(exchange.error or '')}")
    if exchange.response.status_code == 401:
        raise CannotRun(f"{api}: the server answers 401 to the given API key; check --api-key")


def run(
    target: Target,
    apis: Sequence[str],
    families: Sequence[str] = FAMILIES,
    progress: Callable[[str, str, Any], None] | None = None,
) -> RunResult:
    started = time.perf_counter()
    for api in apis:
        preflight(target, api)
    result = RunResult()
    run_tag = f"convo-contracts-{secrets.token_hex(4)}"
    for api in apis:
        client = Client(target, api)
        created: list[str] = []
        try:
            for family in families:
                ctx = Context(target, api, family, client, run_tag)
                family_started = time.perf_counter()
                if progress:
                    progress(api, family, None)
                for check in checks_of(family, api, target.read_only):
                    try:
                        check(ctx)
                    except CannotRun:
                        raise
                    except Exception as exc:  # a check must never take the run down with it
                        _record_crash(ctx, check.__name__, exc)
                created += ctx.created
                result.samples += ctx.samples
                outcomes = list(ctx.outcomes.values())
                result.outcomes += outcomes
                if progress:
                    progress(api, family, (outcomes, time.perf_counter() - family_started))
            result.leftovers += _clean_up(client, target, api, created)
        finally:
            client.close()
    result.duration = time.perf_counter() - started
    return result


def _record_crash(ctx: Context, check: str, exc: Exception) -> None:
    op = ctx.spec.operations[0]
    message = ctx.target.redactor(f"{type(exc).__name__}: {exc}")
    ctx.outcome(op, check).add_failure(
        Failure(expected=f"check {check} to complete", actual=message, spec_pointer=op.pointer)
    )


def _clean_up(client: Client, target: Target, api: str, created: list[str]) -> list[str]:
    """Delete what this run created; return what could not be deleted."""
    if target.read_only or not created:
        return []
    try:
        delete = specs.load(api).operation("deleteConversation")
    except KeyError:
        return []
    leftovers = []
    for item in dict.fromkeys(created):
        path = delete.path.replace("{id}", item)
        exchange = client.send(delete.method, path, key=target.api_key)
        status = exchange.response.status_code if exchange.response is not None else None
        if status is None or not (200 <= status < 300 or status == 404):
            leftovers.append(f"{api} {item} (delete answered {status or exchange.error})")
    return leftovers


__all__ = ["FAMILIES", "CannotRun", "RunResult", "Status", "run"]
