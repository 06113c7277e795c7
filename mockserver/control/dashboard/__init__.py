"""The dashboard at /__mock__/: a static page (HTML, JS, CSS in this package, no build step,
no CDN) and the read-only state-browser endpoints it pages through.

Every action the page offers (chaos, faults, reset, clearing the journal) calls the same
control-plane endpoints a script would; nothing here changes state.
"""

from __future__ import annotations

import itertools
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from specs.integers import ascii_int
from specs.text import shorten

from ...api.errors import ApiError, json_response
from ...api.store import Tenant
from ...runtime import Runtime

_FILES = {"index.html": "text/html", "app.js": "text/javascript", "app.css": "text/css"}
# Served under /__mock__/static/ (the page itself is /__mock__/); guard.py lets these and the
# page load without the control token.
STATIC_FILES = tuple(name for name in _FILES if name != "index.html")
# The page loads nothing from anywhere else, and nothing may frame it.
_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
PAGE_LIMIT = 200  # conversations per state-browser page, at most


@cache
def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def page(request: Request) -> Response:
    return Response(_asset("index.html"), media_type=_FILES["index.html"], headers=_HEADERS)


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        raise ApiError(404, f"no dashboard file named {shorten(name, 40)!r}")
    return Response(_asset(name), media_type=_FILES[name], headers=_HEADERS)


def _counts(tenant: Tenant) -> dict[str, int]:
    return {"runtype": len(tenant.runtype.by_id), "systemprompt": len(tenant.systemprompt)}


async def tenants(request: Request) -> Response:
    runtime = _runtime(request)
    readonly = {key.key: key.readonly for key in runtime.keys}
    listed = [
        {"tenant": runtime.keys.label(name), "readonly": readonly.get(name, False), **_counts(tenant)}
        for name, tenant in runtime.store.tenants.items()
    ]
    return json_response(200, {"tenants": listed})


def _tenant(request: Request) -> Tenant:
    runtime = _runtime(request)
    label = request.path_params["tenant"]
    for name, tenant in runtime.store.tenants.items():
        if runtime.keys.label(name) == label:
            return tenant
    raise ApiError(404, f"no tenant labelled {shorten(label, 40)!r}")


def _api(request: Request) -> str:
    api = request.path_params["api"]
    if api not in _runtime(request).config.apis:
        raise ApiError(404, f"no API named {shorten(api, 40)!r}; served: {', '.join(_runtime(request).config.apis)}")
    return str(api)


def _bounded(request: Request, name: str, default: int, high: int) -> int:
    raw = request.query_params.get(name, str(default))
    number = ascii_int(raw)
    if number is None or number > high:
        raise ApiError(400, f"{name} must be an integer within 0..{high}")
    return number


async def conversations(request: Request) -> Response:
    """One page of a tenant's conversations in one API, newest last, as summaries."""
    unknown = set(request.query_params) - {"offset", "limit"}
    if unknown:
        raise ApiError(400, f"unknown parameter(s) {', '.join(sorted(unknown))}; known: offset, limit")
    tenant, api = _tenant(request), _api(request)
    offset = _bounded(request, "offset", 0, 10**9)
    limit = _bounded(request, "limit", 50, PAGE_LIMIT)
    items: list[dict[str, Any]]
    if api == "runtype":
        chosen = itertools.islice(tenant.runtype, offset, offset + limit)
        items = [conversation.summary() for conversation in chosen]
    else:
        picked = itertools.islice(tenant.systemprompt.values(), offset, offset + limit)
        items = [{"id": c.id, "messageCount": len(c.message)} for c in picked]
    return json_response(200, {"total": _counts(tenant)[api], "offset": offset, "items": items})


async def conversation(request: Request) -> Response:
    tenant, api = _tenant(request), _api(request)
    cid = request.path_params["id"]
    found = tenant.runtype.by_id.get(cid) if api == "runtype" else tenant.systemprompt.get(cid)
    if found is None:
        raise ApiError(404, f"no {api} conversation {shorten(cid, 60)!r} for this tenant")
    return json_response(200, found.dump())


ROUTES = [
    Route("/", page, methods=["GET"]),
    Route("/static/{name}", asset, methods=["GET"]),
    Route("/tenants", tenants, methods=["GET"]),
    Route("/tenants/{tenant}/{api}", conversations, methods=["GET"]),
    Route("/tenants/{tenant}/{api}/{id}", conversation, methods=["GET"]),
]


async def root(request: Request) -> Response:
    """`GET /`: where things are, for whoever opens the mock's address in a browser."""
    runtime = _runtime(request)
    return json_response(
        200,
        {
            "service": "convo-mock",
            "dashboard": "/__mock__/",
            "apis": list(runtime.config.apis),
            "specs": [f"/__mock__/openapi/{api}" for api in runtime.config.apis],
            "control": "/__mock__/health",
        },
    )
