"""One spec path of a mocked API: the method picks the operation (405 otherwise), then
Prefer/chaos, auth, parameters, the body, validation against the spec, the API's handler,
and the JSON answer (or a transport fault to deliver it with).

The hot path of the mock: it works on the ASGI scope as the server made it (headers looked
up in one dict of the raw pairs, no Request or Response objects), and pays for chaos only
when a Prefer header or a chaos setting asks for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from specs import Operation
from specs.auth import scheme_of
from specs.text import printable, shorten

from ..control.chaos import NO_PREFERENCES, example, parse_prefer
from ..control.faults import Fault, deliver
from ..runtime import Runtime
from . import runtype, systemprompt
from .auth import ApiKey
from .body import read_json_body
from .errors import ApiError, json_response, send_json
from .request import RequestInfo, Result, ValidatedRequest
from .validation import OperationValidator

logger = logging.getLogger("mockserver")

_HANDLERS: dict[str, dict[str, Callable[[ValidatedRequest], Result]]] = {
    "runtype": runtype.HANDLERS,
    "systemprompt": systemprompt.HANDLERS,
}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NO_QUERY: dict[str, str] = {}

# Raw ASGI headers, by lower-case name (ASGI servers send the names in lower case).
RawHeaders = dict[bytes, bytes]


class _Bound:
    """One operation with everything it needs, resolved once at start-up."""

    def __init__(self, api: str, operation: Operation) -> None:
        self.api = api
        self.operation = operation
        self.operation_id = operation.operation_id
        self.validator = OperationValidator(operation)
        self.handler = _HANDLERS[api][operation.operation_id]
        self.auth = scheme_of(api)
        self.auth_name = self.auth.header_key
        self.auth_header = self.auth_name.encode("latin-1")
        # 403 is only sent where the spec documents it (Runtype): a read-only key there.
        self.enforce_readonly = operation.method in _WRITES and "403" in operation.statuses


class OperationEndpoint:
    """All operations of one spec path; a method the spec does not declare gets 405."""

    def __init__(self, runtime: Runtime, api: str, operations: list[Operation]) -> None:
        self.runtime = runtime
        self.operations = {op.method: _Bound(api, op) for op in operations}
        self.allow = ", ".join(self.operations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A raw ASGI endpoint, so that every method reaches us and the 405 is ours. Nothing is
        # sent before the answer is known, so every error here is still a whole JSON answer.
        try:
            status, payload, headers, broken = await self.handle(scope, receive)
        except ApiError as error:
            status, payload, headers, broken = error.status, error.payload(), error.headers, None
        except ClientDisconnect:
            # Nobody is left to answer (uvicorn drops the response): not the mock's error, no traceback.
            logger.debug("client went away mid-request: %s %s", scope["method"], printable(shorten(scope["path"], 200)))
            status, payload, headers, broken = 400, _gone.payload(), None, None
        if broken is not None:
            await deliver(broken, json_response(status, payload, headers), scope, send)
        else:
            await send_json(send, status, payload, headers)

    async def handle(self, scope: Scope, receive: Receive) -> tuple[int, Any, dict[str, str] | None, Fault | None]:
        """Status, payload and extra headers of the answer, and the transport fault (reset,
        truncate, slow-body) to deliver it with."""
        bound = self.operations.get(scope["method"])
        if bound is None:
            raise ApiError(
                405, f"{scope['method']} is not allowed here; allowed: {self.allow}", headers={"Allow": self.allow}
            )
        info = RequestInfo.of(scope)
        info.api = bound.api
        info.operation = bound.operation_id
        runtime = self.runtime
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        headers: RawHeaders = dict(raw)
        fault = None
        prefer = NO_PREFERENCES
        if b"prefer" in headers:
            # Every Prefer header counts (RFC 7240): all of them, not the dict's last one.
            prefer = parse_prefer([value.decode("latin-1") for name, value in raw if name == b"prefer"])
        if prefer is not NO_PREFERENCES or runtime.chaos.active:
            fault = await runtime.chaos.before(bound.operation, prefer, lambda: self._tenant_label(bound, headers))
        key = self._authenticate(bound, headers)
        validator = bound.validator
        query: Any = _NO_QUERY
        if validator.takes_query and scope["query_string"]:
            query = QueryParams(scope["query_string"])
        params = validator.parameters(scope.get("path_params", _NO_QUERY), query)
        body = None
        if validator.takes_body:
            config = runtime.config
            body = await read_json_body(
                receive,
                headers,
                required=validator.body_required,
                max_bytes=config.max_body,
                max_depth=config.max_depth,
                thread_above=config.parse_in_thread_bytes,
                check=validator.body,
            )
        status, payload = bound.handler(ValidatedRequest(runtime.store, key, params, body, runtime.public_url(scope)))
        extra: dict[str, str] | None = None
        if fault is not None and fault.status is not None:
            extra = fault.headers()
            status = fault.status
        if prefer.example is not None:
            payload = example(bound.operation, status, prefer.example)
        broken = fault if fault is not None and fault.transport is not None else None
        return status, payload, extra, broken

    def _tenant_label(self, bound: _Bound, headers: RawHeaders) -> str | None:
        key = self.runtime.keys.identify(bound.auth, _credential_headers(bound, headers))
        return key.label if key is not None else None

    def _authenticate(self, bound: _Bound, headers: RawHeaders) -> ApiKey:
        key = self.runtime.keys.authenticate_raw(bound.auth, headers.get(bound.auth_header))
        if key.readonly and bound.enforce_readonly:
            raise ApiError(403, "this API key is read-only")
        return key


def _credential_headers(bound: _Bound, headers: RawHeaders) -> dict[str, str]:
    """The one header the API's scheme reads its credential from, as `AuthScheme` takes it."""
    value = headers.get(bound.auth_header)
    return {} if value is None else {bound.auth_name: value.decode("latin-1")}


_gone = ApiError(400, "the client disconnected before sending the whole body")
