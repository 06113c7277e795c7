"""Proxy mode (`--upstream`): forward an API's requests to the real service, check both ways.

A request through the proxy passes the same middleware as a mocked one (CORS, journal, any
Host/Origin guard), then `ProxyEndpoint`: chaos (`--latency`, `Prefer: code=` answered here),
the request checks, the forward (method, raw path, query, headers as sent, hop-by-hop headers
dropped, `Host` rewritten by httpx), the response checks, the answer streamed back with
`X-Convo-Violations: N`. Violations never change the answer unless `--proxy-strict`.

Bodies up to the buffer limits are held to be checked (a request's before it is forwarded,
a response's before its headers go out, since the header counts its violations); larger
ones stream through and only their status and content type are checked.
"""

from __future__ import annotations

import itertools
import logging
import shlex
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping

import httpx
import orjson
from starlette.datastructures import QueryParams
from starlette.types import Message, Receive, Scope, Send

import specs
from specs import Operation
from specs.auth import scheme_of
from specs.integers import ascii_int
from specs.redact import Redactor, redact_header, redact_url
from specs.text import shorten

from ..api.errors import ApiError
from ..api.request import RequestInfo
from ..config import MockConfig
from ..control.chaos import parse_prefer
from ..runtime import Runtime
from .record import Recorder
from .traffic_check import Exchange, Finding, OperationChecks
from .upstream_client import Origin, Response, UpstreamClient
from .violations import Violation, ViolationLog, excerpt, pointer

VIOLATIONS_HEADER = "X-Convo-Violations"
_HEADER_KEY = VIOLATIONS_HEADER.lower().encode()
# RFC 9110 §7.6.1 hop-by-hop headers; host and content-length are set again for the upstream.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers"}
    | {"transfer-encoding", "upgrade", "host", "content-length"}
)
# uvicorn writes its own date and server headers; the upstream's would be duplicates.
_RESPONSE_DROPPED = (_HOP_BY_HOP - {"content-length"}) | {"date", "server"}
_CURL_BODY_LIMIT = 2000

logger = logging.getLogger("mockserver.proxy.endpoint")


class ProxyState:
    """The live parts of proxy mode: the connection pool, the violations, the recorder."""

    def __init__(self, config: MockConfig, runtime: Runtime) -> None:
        self.runtime = runtime
        self.upstreams = dict(config.upstreams)
        self.strict = config.proxy_strict
        self.timeout = config.upstream_timeout
        self.max_request = config.max_body
        self.max_response = config.proxy_buffer
        self.violations = ViolationLog()
        self.recorder = Recorder(config.record_file, dict(config.record_keys)) if config.record_file else None
        self.exchanged: Counter[tuple[str, str]] = Counter()  # (api, operationId) → requests seen
        self.started = time.time()
        self._ids = itertools.count(1)
        self._client: UpstreamClient | None = None

    @property
    def client(self) -> UpstreamClient:
        # Opened on first use, on the server's loop; closed by the app's lifespan.
        if self._client is None:
            self._client = UpstreamClient(self.timeout)
        return self._client

    def next_id(self) -> int:
        return next(self._ids)

    def redactor(self, extra: Iterable[str | None] = ()) -> Redactor:
        return Redactor([*(k.key for k in self.runtime.keys), *(self.recorder.keys if self.recorder else ()), *extra])

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self.recorder is not None:
            await self.recorder.flush()


class ProxyEndpoint:
    """All operations of one spec path of a proxied API (or, with none, its unknown paths)."""

    def __init__(self, proxy: ProxyState, api: str, operations: list[Operation]) -> None:
        self.proxy = proxy
        self.api = api
        self.checks = {op.method: OperationChecks(op) for op in operations}
        self.upstream = proxy.upstreams[api].rstrip("/")
        self.origin = Origin.parse(self.upstream)
        self.label = redact_url(self.upstream)
        self.scheme = scheme_of(api)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proxy = self.proxy
        request_id = proxy.next_id()
        ops = self.checks.get(scope["method"])
        info = RequestInfo.of(scope)
        info.api = self.api
        info.operation = ops.operation.operation_id if ops else None
        info.request_id = request_id
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if ops is not None:
            # Forced errors and delays as in mock mode; a forced success cannot rewrite what
            # the real service answered, so it is not applied.
            prefer = parse_prefer([v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"prefer"])
            runtime = proxy.runtime
            await runtime.chaos.before(ops.operation, prefer, lambda: runtime.tenant_label(self.api, headers))
        body, complete = await _read_body(receive, proxy.max_request)
        exchange = Exchange(
            scope.get("path_params", {}),
            QueryParams(scope["query_string"]),
            headers,
            body if complete else None,
        )
        if ops is None:
            request_findings = [self._unknown(scope)]
        else:
            request_findings = ops.run_request(exchange)
            proxy.exchanged[(self.api, ops.operation.operation_id)] += 1
        if request_findings and proxy.strict and ops is not None:
            self._record(scope, exchange, ops, request_findings, [], request_id)
            first = request_findings[0].message
            more = f" (and {len(request_findings) - 1} more)" if len(request_findings) > 1 else ""
            raise ApiError(400, f"{first}{more}", headers={VIOLATIONS_HEADER: str(len(request_findings))})
        try:
            upstream = await self._send(scope, headers, body, complete, receive)
        except httpx.TimeoutException:
            self._record(scope, exchange, ops, request_findings, [], request_id)
            raise ApiError(
                504,
                f"the upstream {self.label} did not answer within {proxy.timeout:g} s",
                code="upstream_timeout",
                headers={VIOLATIONS_HEADER: str(len(request_findings))},
            ) from None
        except httpx.HTTPError as exc:
            self._record(scope, exchange, ops, request_findings, [], request_id)
            raise ApiError(
                502,
                f"the upstream {self.label} could not be reached ({_cause(exc)})",
                code="upstream_unreachable",
                headers={VIOLATIONS_HEADER: str(len(request_findings))},
            ) from None
        try:
            await self._answer(scope, send, exchange, ops, request_findings, request_id, upstream)
        finally:
            await upstream.aclose()

    async def _send(
        self, scope: Scope, headers: Mapping[str, str], body: bytes, complete: bool, receive: Receive
    ) -> Response:
        dropped = _HOP_BY_HOP
        if "connection" in headers:
            dropped = dropped | {h.strip().lower() for h in headers["connection"].split(",")}
        forwarded = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in dropped]
        target = scope.get("raw_path") or scope["path"].encode()
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        if complete:
            return await self.proxy.client.send(self.origin, scope["method"], target, forwarded, body)
        # A streamed body keeps its declared length; without one it goes out chunked.
        declared = headers.get("content-length")
        length = ascii_int(declared) if declared is not None else None
        return await self.proxy.client.send(
            self.origin, scope["method"], target, forwarded, _rest(body, receive), length
        )

    async def _answer(
        self,
        scope: Scope,
        send: Send,
        exchange: Exchange,
        ops: OperationChecks | None,
        request_findings: list[Finding],
        request_id: int,
        upstream: Response,
    ) -> None:
        chunks: list[bytes] = []
        size = 0
        stream = upstream.aiter_raw()
        complete = True
        try:
            async for chunk in stream:
                chunks.append(chunk)
                size += len(chunk)
                if size > self.proxy.max_response:
                    complete = False
                    break
        except httpx.HTTPError as exc:
            self._broke_off(scope, exchange, ops, request_findings, request_id, upstream, exc)
            timed_out = isinstance(exc, httpx.TimeoutException)
            cause = f"sent no more within {self.proxy.timeout:g} s" if timed_out else f"({_cause(exc)})"
            raise ApiError(
                504 if timed_out else 502,
                f"the upstream {self.label} broke off its {upstream.status_code} answer after {size} bytes {cause}",
                code="upstream_timeout" if timed_out else "upstream_broke_off",
                headers={VIOLATIONS_HEADER: str(len(request_findings) + 1)},
            ) from None
        raw = b"".join(chunks)
        response_headers = _merged(upstream.headers)
        exchange.status = upstream.status_code
        exchange.response_headers = response_headers
        exchange.response_body = _decoded(raw, response_headers.get("content-encoding"), self.proxy.max_response)
        if not complete:
            exchange.response_body = None
        response_findings = ops.run_response(exchange) if ops is not None else []
        self._record(scope, exchange, ops, request_findings, response_findings, request_id)
        if ops is not None and not response_findings and self.proxy.recorder and exchange.response_body is not None:
            self.proxy.recorder.observe(ops.operation, exchange, self.scheme.credential(exchange.headers).token)
        out = [(k, v) for k, v in upstream.headers if k.decode("latin-1").lower() not in _RESPONSE_DROPPED]
        # The length of what came back; not for HEAD, whose Content-Length describes the GET.
        if complete and scope["method"] != "HEAD" and b"content-length" not in {k.lower() for k, _ in out}:
            out.append((b"content-length", str(len(raw)).encode()))
        out.append((_HEADER_KEY, str(len(request_findings) + len(response_findings)).encode()))
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out})
        if complete:
            await send({"type": "http.response.body", "body": raw})
            return
        await send({"type": "http.response.body", "body": raw, "more_body": True})
        try:
            async for chunk in stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError as exc:
            # The status is already sent: record the break and leave the answer incomplete,
            # so the client sees a broken-off body as the upstream sent it.
            self._broke_off(scope, exchange, ops, request_findings, request_id, upstream, exc)
            return
        await send({"type": "http.response.body", "body": b""})

    def _broke_off(
        self,
        scope: Scope,
        exchange: Exchange,
        ops: OperationChecks | None,
        request_findings: list[Finding],
        request_id: int,
        upstream: Response,
        exc: httpx.HTTPError,
    ) -> None:
        finding = Finding(
            "incompleteResponse",
            ops.operation.pointer if ops is not None else pointer(self.api, ("paths",)),
            f"the upstream {self.label} broke off its {upstream.status_code} answer mid-body ({_cause(exc)})",
            (upstream.header(b"content-length") or b"").decode("latin-1") or None,
        )
        exchange.status = upstream.status_code
        self._record(scope, exchange, ops, request_findings, [finding], request_id)

    def _unknown(self, scope: Scope) -> Finding:
        what = f"{scope['method']} {scope['path']}"
        return Finding(
            "unknownOperation",
            pointer(self.api, ("paths",)),
            f"{what} is not an operation of the {self.api} spec",
            what,
        )

    def _record(
        self,
        scope: Scope,
        exchange: Exchange,
        ops: OperationChecks | None,
        request_findings: list[Finding],
        response_findings: list[Finding],
        request_id: int,
    ) -> None:
        if not request_findings and not response_findings:
            return
        token = self.scheme.credential(exchange.headers).token
        redactor = self.proxy.redactor([token])
        curl = self._curl(scope, exchange, redactor)
        operation = ops.operation if ops else None
        self.proxy.violations.record(
            Violation(
                api=self.api,
                operation_id=operation.operation_id if operation else None,
                method=scope["method"],
                path=operation.path if operation else shorten(scope["path"], 200),
                direction=direction,
                pointer=finding.pointer,
                rule=finding.rule,
                message=redactor.excerpt(finding.message, 500),
                value=excerpt(finding.value, redactor),
                request_id=request_id,
                curl=curl,
            )
            for direction, findings in (("request", request_findings), ("response", response_findings))
            for finding in findings
        )

    def _curl(self, scope: Scope, exchange: Exchange, redactor: Redactor) -> str:
        host = exchange.headers.get("host", "localhost")
        query = redactor.query(scope["query_string"].decode("latin-1"))
        url = f"{scope.get('scheme', 'http')}://{host}{scope['path']}" + (f"?{query}" if query else "")
        parts = ["curl", "-X", scope["method"], shlex.quote(redactor(url))]
        for name in ("content-type", self.scheme.header_key):
            if name in exchange.headers:
                parts += ["-H", shlex.quote(f"{name}: {redactor(redact_header(name, exchange.headers[name]))}")]
        if exchange.body:
            try:  # parsed, so that no JSON escape hides a key from the redactor
                text = orjson.dumps(redactor.json(orjson.loads(exchange.body))).decode()
            except orjson.JSONDecodeError:
                text = exchange.body.decode("utf-8", "replace")
            parts += ["-d", shlex.quote(redactor.excerpt(text, _CURL_BODY_LIMIT))]
        return " ".join(parts)


class UnknownPaths:
    """Paths no spec declares: passed through to the upstream of the closest proxied API."""

    def __init__(self, endpoints: dict[str, ProxyEndpoint]) -> None:
        self.endpoints = endpoints
        self.prefixes = {api: [p.split("{")[0] for p in specs.load(api).content["paths"]] for api in endpoints}

    def _closest(self, path: str) -> ProxyEndpoint:
        def score(api: str) -> int:
            return max((_common(path, p) for p in self.prefixes[api]), default=0)

        return self.endpoints[max(self.endpoints, key=score)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._closest(scope["path"])(scope, receive, send)


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The request body, or its first `limit`+ bytes and False when it is longer."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


async def _rest(first: bytes, receive: Receive) -> AsyncIterator[bytes]:
    yield first
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


def _cause(exc: httpx.HTTPError) -> str:
    # upstream_client.py words its errors from exception names, TLS reasons and timeouts,
    # never from request data: safe to show.
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _merged(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names in lower case, repeated ones joined with ", " (RFC 9110 §5.3)."""
    merged: dict[str, str] = {}
    for k, v in headers:
        name, value = k.decode("latin-1").lower(), v.decode("latin-1")
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def _decoded(raw: bytes, encoding: str | None, limit: int) -> bytes | None:
    """The body as the checks need it; None when it cannot be decoded within `limit` bytes."""
    if not encoding or encoding == "identity":
        return raw
    if encoding not in ("gzip", "deflate"):
        return None
    try:
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        data = decoder.decompress(raw, limit)
    except zlib.error:
        return None
    return None if decoder.unconsumed_tail else data


__all__ = ["VIOLATIONS_HEADER", "ProxyEndpoint", "ProxyState", "UnknownPaths"]
