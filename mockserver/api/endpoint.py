"""One spec path of a mocked API: the method picks the operation (405 otherwise), then
Prefer/chaos, auth, parameters, the body, validation against the spec, the API's handler,
and the JSON answer (or a transport fault to deliver it with)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from specs import Operation
from specs.auth import scheme_of

from ..control.chaos import example, parse_prefer
from ..control.faults import Fault, deliver
from ..runtime import Runtime
from . import runtype, systemprompt
from .auth import ApiKey
from .body import read_json_body
from .errors import ApiError, json_response
from .request import RequestInfo, Result, ValidatedRequest
from .validation import OperationValidator

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
            await deliver(broken, response, scope, send)
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
