"""Builds the mock's ASGI app from the specs.

A request's way through: guard (Host, head size, control-plane rules) → CORS → journal →
router (one route per spec path; no slash redirects) → `OperationEndpoint`: method → operation,
Prefer/chaos, auth, body, validation against the spec, the API's handler, JSON response.
Every error is an `ApiError` → JSON.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import StringConvertor
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import specs
from specs import Operation
from specs.text import printable, shorten

from .api.endpoint import OperationEndpoint
from .api.errors import ApiError, send_json
from .config import DEFAULT_CORS, MockConfig
from .control import dashboard
from .control import routes as control
from .control.faults import FORCED_HEADER
from .control.journal import Journal, keep
from .cors import Cors, with_vary
from .guard import CONTROL_PREFIX, Guard
from .proxy.endpoint import ProxyEndpoint, ProxyState, UnknownPaths
from .runtime import Runtime

logger = logging.getLogger("mockserver")


def _endpoints(runtime: Runtime, proxy_state: ProxyState | None) -> tuple[list[tuple[str, ASGIApp]], list[BaseRoute]]:
    """The spec paths' endpoints (served by `Operations`), and the router's routes: the
    dashboard's root, the control plane and, in proxy mode, the passthrough for other paths."""
    endpoints: list[tuple[str, ASGIApp]] = []
    unknown: dict[str, ProxyEndpoint] = {}
    for api in runtime.config.apis:
        by_path: dict[str, list[Operation]] = {}
        for operation in specs.load(api).operations:
            by_path.setdefault(operation.path, []).append(operation)
        for path, operations in by_path.items():
            endpoint: ASGIApp = OperationEndpoint(runtime, api, operations)
            if proxy_state is not None and api in proxy_state.upstreams:
                endpoint = ProxyEndpoint(proxy_state, api, operations)
                unknown.setdefault(api, ProxyEndpoint(proxy_state, api, []))
            endpoints.append((path, endpoint))
    # In proxy mode, paths no spec declares pass through (and are counted as unknown operations).
    passthrough = [Route("/{rest:path}", UnknownPaths(unknown), include_in_schema=False)] if unknown else []
    return endpoints, [Route("/", dashboard.root, methods=["GET"]), control.MOUNT, *passthrough]


class Front:
    """Pure ASGI, the one middleware every request passes (inside Starlette's error handler):
    the guard's checks (guard.py), CORS (cors.py) and the journal's capture (journal.py),
    each costing only when it has something to do, around one send wrapper. The request's
    headers are counted and put in a dict once, for all three."""

    def __init__(self, app: ASGIApp, guard: Guard, cors: Cors, journal: Journal | None) -> None:
        self.app = app
        self.guard = guard
        self.cors = cors
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        by_name = dict(raw)
        size = sum(map(len, itertools.chain.from_iterable(raw)))
        error = self.guard.check(scope, by_name, size)
        if error is not None:
            await send_json(send, error.status, error.payload(), error.headers)
            return
        # A browser's cross-origin call carries Origin: Starlette's CORS rules, headers and all.
        origin = None if b"origin" not in by_name else Headers(scope=scope)
        if origin is not None:
            preflight = self.cors.preflight(scope, origin)
            if preflight is not None:
                await preflight(scope, receive, send)
                return
        path: str = scope["path"]
        journal = self.journal
        if journal is None or path == "/" or path.startswith(CONTROL_PREFIX):
            journal = None  # the control plane and the dashboard are not journaled
        cors = self.cors
        started = time.perf_counter()
        request_body: bytes | bytearray = b""
        response_body: bytes | bytearray = b""
        request_bytes = response_bytes = status = 0
        response_headers: list[tuple[bytes, bytes]] = _NO_HEADERS

        async def receiving() -> Message:
            nonlocal request_body, request_bytes
            message = await receive()
            chunk = message.get("body")
            if chunk:
                request_bytes += len(chunk)
                request_body = keep(request_body, chunk)
            return message

        async def sending(message: Message) -> None:
            nonlocal response_body, response_bytes, status, response_headers
            chunk = message.get("body")
            if chunk:
                # A stream of any size: the journal keeps its first bytes, and counts the rest.
                response_bytes += len(chunk)
                if journal is not None:
                    response_body = keep(response_body, chunk)
            elif message["type"] == "http.response.start":
                status = message["status"]
                response_headers = message.get("headers") or _NO_HEADERS
                if origin is None:
                    message["headers"] = with_vary(response_headers)
            if origin is not None:
                await cors.send(message, send, origin)
            else:
                await send(message)

        if journal is None:
            await self.app(scope, receive, sending)
            return
        try:
            await self.app(scope, receiving, sending)
        finally:
            journal.record(
                scope,
                started,
                status,
                request_body,
                request_bytes,
                response_headers,
                response_body,
                response_bytes,
                size,
            )


_NO_HEADERS: list[tuple[bytes, bytes]] = []


class Operations:
    """Pure ASGI, the innermost middleware: a request for a spec path goes straight to its
    endpoint (a dict lookup, or a regex per parameterised path, no slash redirects), never
    through the router and Starlette's per-request objects; any other request goes on to the
    router (dashboard, control plane, 404, the proxy's passthrough)."""

    def __init__(self, app: ASGIApp, endpoints: list[tuple[str, ASGIApp]]) -> None:
        self.app = app
        self.exact: dict[str, ASGIApp] = {}
        self.patterns: list[tuple[re.Pattern[str], ASGIApp]] = []
        for path, endpoint in endpoints:
            regex, _, convertors = compile_path(path)
            if any(not isinstance(c, StringConvertor) for c in convertors.values()):
                raise ValueError(f"spec path {path}: only plain {{name}} parameters are routed")
            if convertors:
                self.patterns.append((regex, endpoint))
            else:
                self.exact[path] = endpoint
        for path in self.exact:
            # Starlette's router takes the first route that matches: so must this dict.
            if any(regex.match(path) for regex, _ in self.patterns):
                raise ValueError(f"spec path {path} is also matched by a parameterised path")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            endpoint = self.exact.get(path)
            params: dict[str, str] = {}
            if endpoint is None:
                for regex, candidate in self.patterns:
                    match = regex.match(path)
                    if match is not None:
                        endpoint, params = candidate, match.groupdict()
                        break
            if endpoint is not None:
                scope["path_params"] = params
                await endpoint(scope, receive, send)  # each endpoint answers its own errors
                return
        await self.app(scope, receive, send)


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
    logger.debug("client went away mid-request: %s %s", request.method, printable(shorten(request.url.path, 200)))
    return ApiError(400, "the client disconnected before sending the whole body").response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    # A bug in the mock: log it here, never hand a stack trace to the client.
    logger.exception("unhandled error on %s %s", request.method, printable(shorten(request.url.path, 200)))
    return ApiError(500, "the mock hit an unexpected error; see its log").response()


def create_app(config: MockConfig | None = None) -> Starlette:
    """The mock as an ASGI app; `app.state.runtime` holds its live state."""
    config = config or MockConfig()
    runtime = Runtime(config)
    proxy_state = ProxyState(config, runtime) if config.upstreams else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime.saver:
            runtime.saver.start()
        try:
            yield
        finally:
            if runtime.saver:
                await runtime.saver.stop()
            runtime.close()
            if proxy_state is not None:
                await proxy_state.aclose()

    origins: dict[str, Any] = (
        {"allow_origins": list(config.cors_origins)} if config.cors_origins else {"allow_origin_regex": DEFAULT_CORS}
    )
    cors = Cors(
        runtime.operations,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Retry-After", FORCED_HEADER],
        max_age=600,
        **origins,
    )
    endpoints, routes = _endpoints(runtime, proxy_state)
    # No journal, no capture: a journal of size 0 costs a request nothing.
    journal = runtime.journal if config.journal_size else None
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(Front, guard=Guard(config), cors=cors, journal=journal),
            Middleware(Operations, endpoints=endpoints),
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
