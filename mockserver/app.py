"""Builds the mock's ASGI app from the specs.

A request's way through: guard (Host, head size, control-plane rules) → CORS → journal →
router (one route per spec path; no slash redirects) → `OperationEndpoint`: method → operation,
Prefer/chaos, auth, body, validation against the spec, the API's handler, JSON response.
Every error is an `ApiError` → JSON.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import specs
from specs import Operation
from specs.text import printable, shorten

from .api.endpoint import OperationEndpoint
from .api.errors import ApiError
from .config import DEFAULT_CORS, MockConfig
from .control import dashboard
from .control import routes as control
from .control.faults import FORCED_HEADER
from .control.journal import JournalMiddleware
from .cors import PathCORSMiddleware
from .guard import Guard
from .proxy.endpoint import ProxyEndpoint, ProxyState, UnknownPaths
from .runtime import Runtime

logger = logging.getLogger("mockserver")


def _routes(runtime: Runtime, proxy_state: ProxyState | None = None) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    unknown: dict[str, ProxyEndpoint] = {}
    for api in runtime.config.apis:
        by_path: dict[str, list[Operation]] = {}
        for operation in specs.load(api).operations:
            by_path.setdefault(operation.path, []).append(operation)
        for path, operations in by_path.items():
            endpoint: Any = OperationEndpoint(runtime, api, operations)
            if proxy_state is not None and api in proxy_state.upstreams:
                endpoint = ProxyEndpoint(proxy_state, api, operations)
                unknown.setdefault(api, ProxyEndpoint(proxy_state, api, []))
            routes.append(Route(path, endpoint, include_in_schema=False))
    # In proxy mode, paths no spec declares pass through (and are counted as unknown operations).
    passthrough = [Route("/{rest:path}", UnknownPaths(unknown), include_in_schema=False)] if unknown else []
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
