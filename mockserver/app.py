"""Builds the mock's ASGI app from the specs.

A request's way through: guard (Host, head size, control-plane rules) → CORS → journal →
router (one route per spec path; no slash redirects) → `OperationEndpoint`: method → operation,
Prefer/chaos, auth, body, validation against the spec, the API's handler, JSON response.
Every error is an `ApiError` → JSON.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

import specs
from specs import Operation
from specs.auth import scheme_of
from specs.text import shorten

from . import control, dashboard, proxy, runtype, systemprompt
from .auth import ApiKey
from .body import read_json_body
from .chaos import example, parse_prefer
from .config import DEFAULT_CORS, MockConfig
from .cors import PathCORSMiddleware
from .errors import ApiError, json_response
from .faults import FORCED_HEADER, Fault, deliver
from .guard import Guard
from .journal import JournalMiddleware
from .request import RequestInfo, Result, ValidatedRequest
from .runtime import Runtime
from .validation import OperationValidator

logger = logging.getLogger("mockserver")

_HANDLERS: dict[str, dict[str, Callable[[ValidatedRequest], Result]]] = {
    "runtype": runtype.HANDLERS,
    "systemprompt": systemprompt.HANDLERS,
}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _Bound:
    """One operation with everything it needs, resolved once at start-up."""

    def __init__(self, api: str, operation: Operation) -> None:
        self.api = api
        self.operation = operation
        self.validator = OperationValidator(operation)
        self.handler = _HANDLERS[api][operation.operation_id]
        self.auth = scheme_of(api)
        # 403 is only sent where the spec documents it (Runtype): a read-only key there.
        self.enforce_readonly = operation.method in _WRITES and "403" in operation.statuses


class OperationEndpoint:
    """All operations of one spec path; a method the spec does not declare gets 405."""

    def __init__(self, runtime: Runtime, api: str, operations: list[Operation]) -> None:
        self.runtime = runtime
        self.operations = {op.method: _Bound(api, op) for op in operations}
        self.allow = ", ".join(self.operations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A raw ASGI endpoint, so that every method reaches us and the 405 is ours.
        response, broken = await self.handle(Request(scope, receive))
        if broken is not None:
            await deliver(broken, response, scope, receive, send)
        else:
            await response(scope, receive, send)

    async def handle(self, request: Request) -> tuple[Response, Fault | None]:
        """The response, and the transport fault (reset, truncate, slow-body) to deliver it with."""
        bound = self.operations.get(request.method)
        if bound is None:
            raise ApiError(
                405, f"{request.method} is not allowed here; allowed: {self.allow}", headers={"Allow": self.allow}
            )
        info = RequestInfo.of(request.scope)
        info.api = bound.api
        info.operation = bound.operation.operation_id
        runtime = self.runtime
        prefer = parse_prefer(request.headers.getlist("prefer"))
        fault = await runtime.chaos.before(bound.operation, prefer, lambda: self._tenant_label(bound, request))
        key = self._authenticate(bound, request)
        query = request.query_params if bound.validator.takes_query else {}
        params = bound.validator.parameters(request.path_params, query)
        body = None
        if bound.validator.takes_body:
            body = await read_json_body(
                request,
                required=bound.validator.body_required,
                max_bytes=runtime.config.max_body,
                max_depth=runtime.config.max_depth,
                thread_above=runtime.config.parse_in_thread_bytes,
                check=bound.validator.body,
            )
        base_url = runtime.public_url(request.scope)
        status, payload = bound.handler(ValidatedRequest(runtime.store, key, params, body, base_url))
        headers: dict[str, str] | None = None
        if fault is not None and fault.status is not None:
            headers = fault.headers()
            status = fault.status
        if prefer.example is not None:
            payload = example(bound.operation, status, prefer.example)
        broken = fault if fault is not None and fault.transport is not None else None
        return json_response(status, payload, headers=headers), broken

    def _tenant_label(self, bound: _Bound, request: Request) -> str | None:
        key = self.runtime.keys.identify(bound.auth, request.headers)
        return key.label if key is not None else None

    def _authenticate(self, bound: _Bound, request: Request) -> ApiKey:
        key = self.runtime.keys.authenticate(bound.auth, request.headers)
        if key.readonly and bound.enforce_readonly:
            raise ApiError(403, "this API key is read-only")
        return key


def _routes(runtime: Runtime, proxy_state: proxy.ProxyState | None = None) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    unknown: dict[str, proxy.ProxyEndpoint] = {}
    for api in runtime.config.apis:
        by_path: dict[str, list[Operation]] = {}
        for operation in specs.load(api).operations:
            by_path.setdefault(operation.path, []).append(operation)
        for path, operations in by_path.items():
            endpoint: Any = OperationEndpoint(runtime, api, operations)
            if proxy_state is not None and api in proxy_state.upstreams:
                endpoint = proxy.ProxyEndpoint(proxy_state, api, operations)
                unknown.setdefault(api, proxy.ProxyEndpoint(proxy_state, api, []))
            routes.append(Route(path, endpoint, include_in_schema=False))
    # In proxy mode, paths no spec declares pass through (and are counted as unknown operations).
    passthrough = [Route("/{rest:path}", proxy.UnknownPaths(unknown), include_in_schema=False)] if unknown else []
    return [*routes, Route("/", dashboard.root, methods=["GET"]), control.MOUNT, *passthrough]


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return ApiError(404, f"no such path: {shorten(request.url.path, 200)}").response()
    return ApiError(exc.status_code, exc.detail, headers=exc.headers).response()


async def _disconnected(request: Request, exc: Exception) -> Response:
    # Nobody is left to answer (uvicorn drops the response): not the mock's error, no traceback.
    logger.debug("client went away mid-request: %s %s", request.method, shorten(request.url.path, 200))
    return ApiError(400, "the client disconnected before sending the whole body").response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    # A bug in the mock: log it here, never hand a stack trace to the client.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return ApiError(500, "the mock hit an unexpected error; see its log").response()


def create_app(config: MockConfig | None = None) -> Starlette:
    """The mock as an ASGI app; `app.state.runtime` holds its live state."""
    config = config or MockConfig()
    runtime = Runtime(config)
    proxy_state = proxy.ProxyState(config, runtime) if config.upstreams else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime.saver:
            runtime.saver.start()
        try:
            yield
        finally:
            if runtime.saver:
                await runtime.saver.stop()
            if proxy_state is not None:
                await proxy_state.aclose()

    cors: dict[str, Any] = (
        {"allow_origins": list(config.cors_origins)} if config.cors_origins else {"allow_origin_regex": DEFAULT_CORS}
    )
    app = Starlette(
        routes=_routes(runtime, proxy_state),
        middleware=[
            Middleware(Guard, config=config),
            Middleware(
                PathCORSMiddleware,
                operations=runtime.operations,
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["Retry-After", FORCED_HEADER],
                max_age=600,
                **cors,
            ),
            Middleware(JournalMiddleware, journal=runtime.journal),
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            ClientDisconnect: _disconnected,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    app.state.runtime = runtime
    app.state.proxy = proxy_state
    return app
