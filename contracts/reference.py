"""openapi-core as the reference validator, for httpx requests and responses.

Slow (it walks the spec on every call) but independent of the mock's own fast validators,
which is the point: the suite's families and the project's tests judge with it.
"""

from __future__ import annotations

import copy
import functools
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

import specs
from specs.text import shorten


class _Request:
    def __init__(self, request: httpx.Request) -> None:
        url = urlsplit(str(request.url))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.method = request.method.lower()
        content = request.content
        self.body: bytes | None = content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query, keep_blank_values=True)),
            header=Headers(list(request.headers.items())),
        )


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data: bytes | None = response.content
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("content-type", "")


@functools.cache
def _openapi(api: str) -> OpenAPI:
    content = copy.deepcopy(specs.load(api).content)
    # A relative server matches any host: the spec's own server is the real service.
    content["servers"] = [{"url": "/"}]
    return OpenAPI.from_dict(content)


def response_errors(api: str, response: httpx.Response) -> list[str]:
    """What is wrong with this response by the spec (empty when it conforms)."""
    try:
        _openapi(api).validate_response(_Request(response.request), _Response(response))
    except Exception as exc:  # openapi-core raises a tree of its own error types
        return [_explain(exc)]
    return []


def request_errors(api: str, request: httpx.Request) -> list[str]:
    try:
        _openapi(api).validate_request(_Request(request))
    except Exception as exc:
        return [_explain(exc)]
    return []


def _explain(exc: BaseException) -> str:
    parts = [str(exc)]
    inner: Any = exc.__cause__ or exc.__context__
    details = getattr(exc, "schema_errors", None) or getattr(inner, "schema_errors", None) or ()
    parts += [shorten(str(getattr(e, "message", e)), 300) for e in details]
    if inner is not None and not details:
        parts.append(shorten(str(inner), 300))
    return "; ".join(p for p in parts if p)
