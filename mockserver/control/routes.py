"""The control plane under /__mock__/: health, reset, state, the request journal, the specs.

Outside both APIs and unauthenticated (unless --control-token): it is for the developer at
the keyboard and for test fixtures. `guard.py` keeps web pages out of it.
"""

from __future__ import annotations

import asyncio
import copy

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router

import specs
from specs.text import inert_json, shorten

from ..api.body import parse_json, read_capped
from ..api.errors import ApiError
from ..api.seed import SeedError
from ..proxy.endpoint import ProxyState
from ..runtime import Runtime
from . import dashboard
from .faults import DEFAULT_BODY_MS, DEFAULT_RETRY_AFTER, MAX_DELAY_MS
from .journal import Query


def _answer(status: int, body: object) -> Response:
    """A JSON answer of the control plane. It serves strangers' text (the journal, the
    violations, the state) that people read with curl on a terminal: DEL and C1 controls
    escaped too (specs.text.inert_json), the same data for a JSON reader."""
    return Response(inert_json(orjson.dumps(body)), status_code=status, media_type="application/json")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def health(request: Request) -> Response:
    runtime = _runtime(request)
    body: dict[str, object] = {"status": "ok", "apis": list(runtime.config.apis)}
    if runtime.saver is None:
        return _answer(200, body)
    # 503 while saves fail, so that a supervisor polling health notices.
    persistence = runtime.saver.status()
    if not persistence["ok"]:
        body["status"] = "degraded"
    return _answer(200 if persistence["ok"] else 503, {**body, "persistence": persistence})


async def meta(request: Request) -> Response:
    """Defaults and limits a client (the dashboard) shows or needs, read from where they live."""
    return _answer(
        200,
        {
            "journal_size": _runtime(request).config.journal_size,
            "fault_defaults": {"body_ms": DEFAULT_BODY_MS, "retry_after": DEFAULT_RETRY_AFTER},
            "max_delay_ms": MAX_DELAY_MS,
        },
    )


async def reset(request: Request) -> Response:
    runtime = _runtime(request)
    runtime.reset()
    return _answer(200, {"status": "reset", "tenants": len(runtime.store.tenants)})


async def get_state(request: Request) -> Response:
    return _answer(200, _runtime(request).store.dump())


async def put_state(request: Request) -> Response:
    runtime = _runtime(request)
    config = runtime.config
    raw = await read_capped(request, config.max_state_bytes, "state")
    # Parsing a state of many MB is slow: off the event loop. Nesting is checked entry by
    # entry by `runtime.load`, so that the 400 names the entry and field.
    data = await asyncio.to_thread(parse_json, raw, None, "state")
    try:
        runtime.load(data)
    except SeedError as exc:
        raise ApiError(400, f"state rejected, nothing changed: {exc}") from None
    return _answer(200, {"status": "loaded", "tenants": len(runtime.store.tenants)})


async def get_chaos(request: Request) -> Response:
    return _answer(200, _runtime(request).chaos.as_json())


async def put_chaos(request: Request) -> Response:
    runtime = _runtime(request)
    chaos = runtime.chaos
    # Chaos settings are a few rules: the API's own body cap is ample and bounds memory.
    raw = await read_capped(request, runtime.config.max_body, "chaos settings (--max-body)")
    data = parse_json(raw, runtime.config.max_depth, "chaos settings")
    try:
        chaos.update(data)
    except ValueError as exc:
        raise ApiError(400, f"chaos settings rejected, nothing changed: {exc}") from None
    return _answer(200, chaos.as_json())


def _query(request: Request) -> Query:
    try:
        return Query.parse(request.query_params.multi_items())
    except ValueError as exc:
        raise ApiError(400, f"journal query rejected: {exc}") from None


async def get_requests(request: Request) -> Response:
    runtime = _runtime(request)
    # `instance`: ids are this process's; a poller seeing another instance starts over.
    return _answer(200, {"instance": runtime.instance, "requests": runtime.journal.read(_query(request))})


async def count_requests(request: Request) -> Response:
    return _answer(200, {"count": len(_runtime(request).journal.select(_query(request)))})


async def delete_requests(request: Request) -> Response:
    _runtime(request).journal.clear()
    return Response(status_code=204)


def _proxy(request: Request) -> ProxyState:
    state: ProxyState | None = request.app.state.proxy
    if state is None:
        raise ApiError(404, "not in proxy mode: start convo-mock with --upstream URL")
    return state


async def get_violations(request: Request) -> Response:
    return _answer(200, _proxy(request).violations.read())


async def delete_violations(request: Request) -> Response:
    _proxy(request).violations.clear()
    return Response(status_code=204)


async def flush_record(request: Request) -> Response:
    recorder = _proxy(request).recorder
    if recorder is None:
        raise ApiError(404, "not recording: start convo-mock with --upstream URL --record FILE")
    return _answer(200, {"status": "written", **await recorder.flush()})


async def openapi(request: Request) -> Response:
    name = request.path_params["api"].removesuffix(".json")
    if name not in _runtime(request).config.apis:
        raise ApiError(404, f"no spec named {shorten(name, 40)!r}; served: {', '.join(_runtime(request).config.apis)}")
    content = copy.deepcopy(specs.load(name).content)
    # Point tools (Swagger UI, schemathesis) at this mock rather than the real service.
    own = _runtime(request).public_url(request.scope)
    content["servers"] = [{"url": own, "description": "this mock"}, *content["servers"]]
    return _answer(200, content)


# One Mount: API requests, the hot path, are matched against a single entry for all of these.
# Its own Router without slash redirects: `/__mock__/health/` is a JSON 404, never a 307.
MOUNT = Mount(
    "/__mock__",
    app=Router(
        redirect_slashes=False,
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/meta", meta, methods=["GET"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/state", get_state, methods=["GET"]),
            Route("/state", put_state, methods=["PUT"]),
            Route("/chaos", get_chaos, methods=["GET"]),
            Route("/chaos", put_chaos, methods=["PUT"]),
            Route("/requests", get_requests, methods=["GET"]),
            Route("/requests/count", count_requests, methods=["GET"]),
            Route("/requests", delete_requests, methods=["DELETE"]),
            Route("/openapi/{api}", openapi, methods=["GET"]),
            Route("/violations", get_violations, methods=["GET"]),
            Route("/violations", delete_violations, methods=["DELETE"]),
            Route("/record/flush", flush_record, methods=["POST"]),
            *dashboard.ROUTES,
        ],
    ),
)
