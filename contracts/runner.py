"""One run: check each API's target is reachable and its keys work, run each selected
family per API, delete what the run created (also when it is stopped), and return every
outcome."""

from __future__ import annotations

import importlib
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

import specs

from .context import Context
from .errors import CannotRun
from .families import Check, Family, applies
from .results import RunResult, Status
from .settings import FAMILIES
from .target import CLEAN_UP_GRACE, Client, Credential, DeadlinePassed, Target

Targets = Mapping[str, Target] | Target


def load_family(name: str) -> Family:
    """The family's module, imported when a run first needs it."""
    return cast(Family, importlib.import_module(f"{__package__}.families.{name}"))


def checks_of(name: str, api: str, read_only: bool) -> list[Check]:
    found = load_family(name)
    return [c for c in found.CHECKS if applies(c, api) and (not read_only or c in found.READ_ONLY_CHECKS)]


def preflight(target: Target, api: str) -> None:
    """Before any check: the server answers, the list endpoint is where the docs put it,
    every key given is accepted and `--systemprompt-id` exists. Anything else is exit 2."""
    client = Client(target, api)
    spec = specs.load(api)
    listing = spec.operation("listConversations")
    url = f"{target.display_url}{listing.path}"
    try:
        for option, key in (
            ("API key", target.api_key),
            ("other key", target.other_key),
            ("read-only key", target.readonly_key),
        ):
            if key is None:
                continue
            exchange = client.send(listing.method, listing.path, key=key)
            if exchange.response is None:
                raise CannotRun(f"{api}: cannot reach {url}: {target.redactor(exchange.error or '')}")
            status = exchange.response.status_code
            if status == 401:
                raise CannotRun(f"{api}: the server answers 401 to the {option}; check it")
            if status == 404:
                raise CannotRun(
                    f"{api}: GET {url} answered 404, so the {api} API is not at this base URL: "
                    "give the root its /v1 paths live under (with the deployment's prefix if it has one, "
                    "without /v1)"
                )
        if api == "systemprompt" and target.systemprompt_id:
            _check_systemprompt_id(client, target, api)
    finally:
        client.close()


def _check_systemprompt_id(client: Client, target: Target, api: str) -> None:
    assert target.systemprompt_id is not None
    op = specs.load(api).operation("getConversation")
    exchange = client.send(op.method, _path_with_id(op, target.systemprompt_id), key=target.api_key)
    status = exchange.response.status_code if exchange.response is not None else None
    if status != 200:
        raise CannotRun(
            f"{api}: --systemprompt-id {target.systemprompt_id!s} is not a conversation this API key can read "
            f"(GET answered {status or exchange.error})"
        )


def targets_by_api(targets: Targets, apis: Sequence[str]) -> dict[str, Target]:
    return {api: targets for api in apis} if isinstance(targets, Target) else {api: targets[api] for api in apis}


def run(
    targets: Targets,
    apis: Sequence[str],
    families: Sequence[str] = FAMILIES,
    progress: Callable[[str, str, Any], None] | None = None,
    result: RunResult | None = None,
) -> RunResult:
    """Run and return the result. Pass `result` to keep what was found when the run is
    stopped (CannotRun, DeadlinePassed, Interrupted): clean-up has run by then."""
    started = time.perf_counter()
    by_api = targets_by_api(targets, apis)
    for api in apis:
        preflight(by_api[api], api)
    result = RunResult() if result is None else result
    result.strict = any(t.strict for t in by_api.values())
    run_tag = f"convo-contracts-{secrets.token_hex(4)}"
    try:
        for api in apis:
            _run_api(by_api[api], api, families, run_tag, result, progress)
    finally:
        result.duration = time.perf_counter() - started
    return result


def _run_api(
    target: Target,
    api: str,
    families: Sequence[str],
    run_tag: str,
    result: RunResult,
    progress: Callable[[str, str, Any], None] | None,
) -> None:
    client = Client(target, api)
    created: list[str] = []
    tags = [run_tag]
    other_created: list[str] = []  # made with --other-key: deleted with it
    other_tags: list[str] = []
    try:
        for family in families:
            ctx = Context(target, api, family, client, run_tag)
            family_started = time.perf_counter()
            if progress:
                progress(api, family, None)
            try:
                for check in checks_of(family, api, target.read_only):
                    remaining = target.remaining()
                    if remaining is not None and remaining <= 0:
                        raise DeadlinePassed("the run took longer than its --max-duration and was stopped")
                    ctx.records.clear()  # a failure's trail holds this check's requests only
                    try:
                        check(ctx)
                    except CannotRun:
                        raise
                    except Exception as exc:
                        # Our own bug is no proof that the server broke anything: the run could
                        # not complete (exit 2), never a violation. Clean-up and reports follow.
                        raise CannotRun(
                            ctx.target.redactor(
                                f"{api} {family}: the check {check.__name__} failed inside convo-contracts "
                                f"({type(exc).__name__}: {exc}); this is a bug in the suite, not a verdict"
                            )
                        ) from None
            finally:
                # Also when stopped: what was created is cleaned up, what was found is kept.
                created += ctx.created
                tags += [t for t in ctx.tags if t not in tags]
                other_created += ctx.other_created
                other_tags += [t for t in ctx.other_tags if t not in other_tags]
                result.samples += ctx.samples
                result.outcomes += list(ctx.outcomes.values())
            if progress:
                progress(api, family, (list(ctx.outcomes.values()), time.perf_counter() - family_started))
    finally:
        client.close()
        result.leftovers += _clean_up(target, api, created, tags)
        if other_created or other_tags:
            result.leftovers += _clean_up(target, api, other_created, other_tags, Credential.OTHER)


def _clean_up(
    target: Target, api: str, created: list[str], tags: Sequence[str], credential: Credential = Credential.MAIN
) -> list[str]:
    """Delete what this run created; return what could not be deleted.

    Beside the ids the checks saw come back, the run's own tags find the rest: a create whose
    answer was cut off by a signal or a timeout still carries the run's ownerId."""
    if target.read_only:
        return []
    try:
        delete = specs.load(api).operation("deleteConversation")
    except KeyError:
        return []
    leftovers = []
    key = target.key_for(credential)
    client = Client(target, api, grace=CLEAN_UP_GRACE)
    try:
        tagged = [item for tag in tags for item in _tagged(client, key, api, tag)]
        for item in dict.fromkeys([*created, *tagged]):
            try:
                exchange = client.send(delete.method, _path_with_id(delete, item), key=key)
            except DeadlinePassed:
                leftovers.append(f"{api} {item} (not deleted: the run's deadline passed)")
                continue
            status = exchange.response.status_code if exchange.response is not None else None
            if status is None or not (200 <= status < 300 or status == 404):
                leftovers.append(f"{api} {item} (delete answered {status or exchange.error})")
    finally:
        client.close()
    return leftovers


def _tagged(client: Client, key: str | None, api: str, run_tag: str, max_pages: int = 50) -> list[str]:
    """Ids the list shows with this run's ownerId (checked on each item: a server that
    ignores the filter must not get the tenant's other conversations deleted)."""
    listing = specs.load(api).operation("listConversations")
    query = {p["name"] for p in listing.parameters if p["in"] == "query"}
    if "ownerId" not in query:
        return []
    found: list[str] = []
    params: dict[str, Any] = {"ownerId": run_tag}
    for _ in range(max_pages):
        try:
            exchange = client.send(listing.method, listing.path, key=key, params=params)
        except DeadlinePassed:
            break
        try:
            page = exchange.response.json() if exchange.response is not None else None
        except ValueError:
            break
        if not isinstance(page, dict):
            break
        items = next((v for v in page.values() if isinstance(v, list)), [])
        found += [i["id"] for i in items if isinstance(i, dict) and i.get("ownerId") == run_tag and "id" in i]
        pagination = page.get("pagination")
        cursor = pagination.get("nextCursor") if isinstance(pagination, dict) else None
        if not cursor or "cursor" not in query or not items:
            break
        params = {"ownerId": run_tag, "cursor": cursor}
    return [i for i in found if isinstance(i, str)]


def _path_with_id(op: specs.Operation, item: str) -> str:
    (param,) = [p["name"] for p in op.parameters if p["in"] == "path"]
    # Percent-encoded: an id such as ../../x must name a conversation, not another path.
    return op.path.replace("{" + param + "}", quote(item, safe=""))


__all__ = ["FAMILIES", "CannotRun", "RunResult", "Status", "run"]
