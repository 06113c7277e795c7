"""Proxy mode (`--upstream`): forward an API's requests to the real service, check both ways.

A request through the proxy passes the same middleware as a mocked one (CORS, journal, any
Host/Origin guard), then `ProxyEndpoint`, which makes it one `Exchange` (exchange.py) and
hands that through its steps: chaos (`--latency`, `Prefer: code=` answered here), the request
checks, the forward by `upstream_client.py` (method, raw path and query, headers as sent,
hop-by-hop headers dropped, `Host` set to the upstream's), the response checks, the answer
relayed with `X-Convo-Violations: N`. Violations never change the answer unless
`--proxy-strict`.

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
from collections.abc import AsyncIterator, Iterable

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
from .exchange import Exchange, Finding
from .monitor import Monitor
from .record import Recorder
from .traffic_check import OperationChecks
from .traffic_ruling import ruled
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
        # The behaviour monitor (monitor.py); off, only each answer's shape is checked.
        self.monitor = Monitor(config.sole_writer) if config.behaviour_monitor else None
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
    """All operations of one spec path of a proxied API (or, with none, its unknown paths).

    Each request becomes one `Exchange`, handed through named steps: `_arrived` (what was
    sent, the operation, the credential, the journal's requestId), `_chaos`, `_hold_body`,
    `_check_request`, `_forward`, `_take_answer`, `_check_response`, `_relay`; `_record`
    turns the exchange's findings into violations as they are found.
    """

    def __init__(self, proxy: ProxyState, api: str, operations: list[Operation]) -> None:
        self.proxy = proxy
        self.api = api
        self.checks = {op.method: OperationChecks(op) for op in operations}
        self.upstream = proxy.upstreams[api].rstrip("/")
        self.origin = Origin.parse(self.upstream)
        self.label = redact_url(self.upstream)
        self.scheme = scheme_of(api)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = self._arrived(scope)
        if exchange.checks is not None:
            await self._chaos(exchange)
        await self._hold_body(exchange, receive)
        self._check_request(exchange)
        monitor = self.proxy.monitor
        if monitor is not None:
            monitor.begin(exchange)
        try:
            upstream = await self._forward(exchange, receive)
            try:
                raw, complete = await self._take_answer(exchange, upstream)
                self._check_response(exchange, upstream, raw, complete)
                await self._relay(exchange, upstream, raw, complete, send)
            finally:
                await upstream.aclose()
        finally:
            if monitor is not None:
                monitor.abandon(exchange)  # no answer was judged: what it may have written is not known

    def _arrived(self, scope: Scope) -> Exchange:
        """The request's facts, its operation's checks, its credential and journal requestId."""
        checks = self.checks.get(scope["method"])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        target = scope.get("raw_path") or scope["path"].encode()
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        exchange = Exchange(
            api=self.api,
            method=scope["method"],
            path=scope["path"],
            query_string=scope["query_string"],
            target=target,
            raw_headers=scope["headers"],
            headers=headers,
            scheme=scope.get("scheme", "http"),
            path_params=scope.get("path_params", {}),
            query=QueryParams(scope["query_string"]),
            checks=checks,
            credential=self.scheme.credential(headers).token,
            request_id=self.proxy.next_id(),
        )
        info = RequestInfo.of(scope)
        info.api = self.api
        info.operation = checks.operation.operation_id if checks else None
        info.request_id = exchange.request_id
        return exchange

    async def _chaos(self, exchange: Exchange) -> None:
        """Forced errors and delays as in mock mode; a forced success cannot rewrite what the
        real service answered, so it is not applied."""
        assert exchange.checks is not None
        prefer = parse_prefer([v.decode("latin-1") for k, v in exchange.raw_headers if k.lower() == b"prefer"])
        runtime = self.proxy.runtime
        await runtime.chaos.before(
            exchange.checks.operation, prefer, lambda: runtime.tenant_label(self.api, exchange.headers)
        )

    async def _hold_body(self, exchange: Exchange, receive: Receive) -> None:
        """The request body, held whole to be checked; past --max-body only its first part."""
        held, complete = await _read_body(receive, self.proxy.max_request)
        exchange.held = held
        exchange.body = held if complete else None

    def _check_request(self, exchange: Exchange) -> None:
        """The request checks; with --proxy-strict a request that breaks the spec is a 400."""
        checks = exchange.checks
        if checks is None:
            exchange.request_findings = [self._unknown(exchange)]
            return
        exchange.request_findings = checks.run_request(exchange)
        self.proxy.exchanged[(self.api, checks.operation.operation_id)] += 1
        if exchange.request_findings and self.proxy.strict:
            self._record(exchange)
            found = exchange.request_findings
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise ApiError(400, f"{found[0].message}{more}", headers={VIOLATIONS_HEADER: str(len(found))})

    async def _forward(self, exchange: Exchange, receive: Receive) -> Response:
        """The request sent upstream; the answer once its status and headers are in."""
        try:
            upstream = await self._send(exchange, receive)
        except httpx.TimeoutException:
            self._record(exchange)
            raise ApiError(
                504,
                f"the upstream {self.label} did not answer within {self.proxy.timeout:g} s",
                code="upstream_timeout",
                headers={VIOLATIONS_HEADER: str(exchange.findings)},
            ) from None
        except httpx.HTTPError as exc:
            self._record(exchange)
            raise ApiError(
                502,
                f"the upstream {self.label} could not be reached ({_cause(exc)})",
                code="upstream_unreachable",
                headers={VIOLATIONS_HEADER: str(exchange.findings)},
            ) from None
        exchange.upstream = upstream
        exchange.status = upstream.status_code
        return upstream

    async def _send(self, exchange: Exchange, receive: Receive) -> Response:
        headers = exchange.headers
        dropped = _HOP_BY_HOP
        if "connection" in headers:
            dropped = dropped | {h.strip().lower() for h in headers["connection"].split(",")}
        forwarded = [(k, v) for k, v in exchange.raw_headers if k.decode("latin-1").lower() not in dropped]
        client = self.proxy.client
        if exchange.body is not None:
            return await client.send(self.origin, exchange.method, exchange.target, forwarded, exchange.body)
        # A streamed body keeps its declared length; without one it goes out chunked.
        declared = headers.get("content-length")
        length = ascii_int(declared) if declared is not None else None
        body = _rest(exchange.held, receive)
        return await client.send(self.origin, exchange.method, exchange.target, forwarded, body, length)

    async def _take_answer(self, exchange: Exchange, upstream: Response) -> tuple[bytes, bool]:
        """The answer's body held to be checked, up to the buffer: (what was read, whole?)."""
        chunks: list[bytes] = []
        size = 0
        complete = True
        try:
            async for chunk in upstream.aiter_raw():
                chunks.append(chunk)
                size += len(chunk)
                if size > self.proxy.max_response:
                    complete = False
                    break
        except httpx.HTTPError as exc:
            self._broke_off(exchange, upstream, exc)
            timed_out = isinstance(exc, httpx.TimeoutException)
            cause = f"sent no more within {self.proxy.timeout:g} s" if timed_out else f"({_cause(exc)})"
            raise ApiError(
                504 if timed_out else 502,
                f"the upstream {self.label} broke off its {upstream.status_code} answer after {size} bytes {cause}",
                code="upstream_timeout" if timed_out else "upstream_broke_off",
                headers={VIOLATIONS_HEADER: str(exchange.findings)},
            ) from None
        return b"".join(chunks), complete

    def _check_response(self, exchange: Exchange, upstream: Response, raw: bytes, complete: bool) -> None:
        """The response checks (of the body only when it was held whole); a conforming answer
        goes to the record file."""
        exchange.response_headers = headers = _merged(upstream.headers)
        if complete:
            exchange.response_body = _decoded(raw, headers.get("content-encoding"), self.proxy.max_response)
        checks = exchange.checks
        if checks is not None:
            exchange.response_findings = ruled(checks, exchange.status, checks.run_response(exchange))
        self._record(exchange)
        monitor = self.proxy.monitor
        if monitor is not None and checks is not None:
            self._emit(exchange, [("response", f) for f in monitor.end(exchange)])
        recorder = self.proxy.recorder
        if checks is not None and not exchange.response_findings and recorder and exchange.response_body is not None:
            recorder.observe(checks.operation, exchange, exchange.credential)

    async def _relay(self, exchange: Exchange, upstream: Response, raw: bytes, complete: bool, send: Send) -> None:
        """The upstream's status and headers (+ X-Convo-Violations), then its body: what was
        held, and past the buffer the rest as it comes."""
        out = [(k, v) for k, v in upstream.headers if k.decode("latin-1").lower() not in _RESPONSE_DROPPED]
        # The length of what came back; not for HEAD, whose Content-Length describes the GET.
        if complete and exchange.method != "HEAD" and b"content-length" not in {k.lower() for k, _ in out}:
            out.append((b"content-length", str(len(raw)).encode()))
        out.append((_HEADER_KEY, str(exchange.findings).encode()))
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out})
        if complete:
            await send({"type": "http.response.body", "body": raw})
            return
        await send({"type": "http.response.body", "body": raw, "more_body": True})
        try:
            async for chunk in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError as exc:
            # The status is already sent: record the break and leave the answer incomplete,
            # so the client sees a broken-off body as the upstream sent it.
            self._broke_off(exchange, upstream, exc)
            return
        await send({"type": "http.response.body", "body": b""})

    def _broke_off(self, exchange: Exchange, upstream: Response, exc: httpx.HTTPError) -> None:
        checks = exchange.checks
        exchange.response_findings.append(
            Finding(
                "incompleteResponse",
                checks.operation.pointer if checks is not None else pointer(self.api, ("paths",)),
                f"the upstream {self.label} broke off its {upstream.status_code} answer mid-body ({_cause(exc)})",
                (upstream.header(b"content-length") or b"").decode("latin-1") or None,
            )
        )
        self._record(exchange)

    def _unknown(self, exchange: Exchange) -> Finding:
        what = f"{exchange.method} {exchange.path}"
        return Finding(
            "unknownOperation",
            pointer(self.api, ("paths",)),
            f"{what} is not an operation of the {self.api} spec",
            what,
        )

    def _record(self, exchange: Exchange) -> None:
        """The exchange's findings not yet recorded, as violations."""
        found = [
            *(("request", f) for f in exchange.request_findings),
            *(("response", f) for f in exchange.response_findings),
        ][exchange.recorded :]
        exchange.recorded += len(found)
        self._emit(exchange, found)

    def _emit(self, exchange: Exchange, found: list[tuple[str, Finding]]) -> None:
        """Findings as violations (or observations), recorded once each."""
        if not found:
            return
        redactor = self.proxy.redactor([exchange.credential])
        curl = self._curl(exchange, redactor)
        checks = exchange.checks
        operation = checks.operation if checks else None
        self.proxy.violations.record(
            Violation(
                api=self.api,
                operation_id=operation.operation_id if operation else None,
                method=exchange.method,
                path=operation.path if operation else shorten(exchange.path, 200),
                direction=direction,
                pointer=finding.pointer,
                rule=finding.rule,
                message=redactor.excerpt(finding.message, 500),
                value=excerpt(finding.value, redactor),
                request_id=exchange.request_id,
                curl=curl,
                observation=finding.observation,
                rests_on=finding.rests_on,
            )
            for direction, finding in found
        )

    def _curl(self, exchange: Exchange, redactor: Redactor) -> str:
        host = exchange.headers.get("host", "localhost")
        query = redactor.query(exchange.query_string.decode("latin-1"))
        url = f"{exchange.scheme}://{host}{exchange.path}" + (f"?{query}" if query else "")
        parts = ["curl", "-X", exchange.method, shlex.quote(redactor(url))]
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
