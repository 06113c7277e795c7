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

An exchange whose client leaves, or that is still in flight when the proxy stops, is cut
off wherever it is (cutoff.py): its upstream connection closed, never read on.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any, NoReturn

import httpx
from starlette.types import Message, Receive, Scope, Send

import specs
from specs import Operation
from specs.auth import AuthScheme, scheme_of
from specs.inflate import NotInflatable, TooLarge, coding_of, inflate_all
from specs.integers import ascii_int
from specs.redact import Redactor, redact_url
from specs.text import printable, shorten

from ..api.errors import ApiError, send_json
from ..api.request import RequestInfo
from ..config import MockConfig
from ..control.chaos import parse_prefer
from ..protocol import LEFT
from ..runtime import Runtime
from .cutoff import Cutoff
from .exchange import DecodedHeaders, Exchange, Finding
from .monitor import Monitor
from .record import Recorder
from .traffic_check import OperationChecks
from .traffic_ruling import ruled
from .upstream_client import MalformedAnswer, Origin, Response, UpstreamClient
from .violations import ViolationLog, operation_parts, pointer, violations_of

VIOLATIONS_HEADER = "X-Convo-Violations"
# The collector's thresholds for a proxy process (`gc.set_threshold`; the default is 700, 10,
# 10). A proxied request waits for its upstream with its frames and buffers alive, so young
# collections every 700 allocations promote and rescan whatever is in flight: under 16
# concurrent requests that was a tenth of the proxy's instructions (callgrind: 723k -> 651k a
# request; the mock alone 462k -> 455k). Only the server process sets them (cli.py), never a
# test process running the app.
GC_THRESHOLDS = (10_000, 20, 20)
_HEADER_KEY = VIOLATIONS_HEADER.lower().encode()
# RFC 9110 §7.6.1 hop-by-hop headers; host and content-length are set again for the upstream.
# Names as bytes in lower case, as ASGI gives them (and as the answer's are compared).
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer", b"trailers"}
    | {b"transfer-encoding", b"upgrade", b"host", b"content-length"}
)
# uvicorn writes its own date and server headers; the upstream's would be duplicates.
_RESPONSE_DROPPED = (_HOP_BY_HOP - {b"content-length"}) | {b"date", b"server"}
_TOKENS_KEPT = 1024
# Raw ASGI request headers by lower-case name (a repeated one keeps its last value, as
# `Exchange.headers` does): what the proxy itself looks up, without decoding the others.
RawHeaders = dict[bytes, bytes]


class ProxyState:
    """The live parts of proxy mode: the connection pool, the violations, the recorder; the
    credentials its clients send are secrets in every output, like the mock's keys."""

    def __init__(self, config: MockConfig, runtime: Runtime) -> None:
        self.runtime = runtime
        self.upstreams = dict(config.upstreams)
        self.strict = config.proxy_strict
        self.timeout = config.upstream_timeout
        self.max_request = config.max_body
        self.max_response = config.proxy_buffer
        self.violations = ViolationLog(redactor=self.redactor)
        self.recorder = (
            Recorder(config.record_file, dict(config.record_keys), self.redactor) if config.record_file else None
        )
        self.exchanged: Counter[tuple[str, str]] = Counter()  # (api, operationId) → requests seen
        # The behaviour monitor (monitor.py); off, only each answer's shape is checked.
        self.monitor = Monitor(config.sole_writer) if config.behaviour_monitor else None
        self.started = time.time()
        self._ids = itertools.count(1)
        self._client: UpstreamClient | None = None
        self._schemes = [
            (scheme, scheme.header_key, scheme.header_key.encode("latin-1"))
            for scheme in dict.fromkeys(map(scheme_of, self.upstreams))
        ]
        # The token each raw header value carries, by scheme (None: none): clients send the same
        # few values again and again. Bounded: cleared when full.
        self._tokens: dict[tuple[int, bytes], str | None] = {}
        self._journal = runtime.journal
        for key, _ in config.record_keys:
            self._journal.remember_secret(key)

    @property
    def client(self) -> UpstreamClient:
        # Opened on first use, on the server's loop; closed by the app's lifespan.
        if self._client is None:
            self._client = UpstreamClient(self.timeout)
        return self._client

    def next_id(self) -> int:
        return next(self._ids)

    def saw(self, headers: RawHeaders, scheme: AuthScheme) -> str | None:
        """Take note of the credentials a request carries, by each proxied API's scheme: from
        now on they are secrets wherever they appear, as the mock's own keys are (the journal
        keeps the latest ones, `REMEMBERED_SECRETS`). The one `scheme` reads, if any."""
        found = None
        for index, (each, key, raw_key) in enumerate(self._schemes):
            value = headers.get(raw_key)
            if value is None:
                continue
            try:
                token = self._tokens[(index, value)]
            except KeyError:
                token = each.credential({key: value.decode("latin-1")}).token
                if len(self._tokens) >= _TOKENS_KEPT:
                    self._tokens.clear()
                self._tokens[(index, value)] = token
            if token is not None:
                self._journal.remember_secret(token)
                if each == scheme:
                    found = token
        return found

    def redactor(self) -> Redactor:
        """Every secret known: the mock's keys, --record-key's, the credentials clients sent."""
        return self._journal.redactor()

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
    turns the exchange's findings into violations as they are found; `_cut_off` ends an
    exchange its client left or the proxy's stop cut short.
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
        # It answers its own errors (as the mock's OperationEndpoint does): an ApiError raised
        # before the answer began becomes a JSON answer here, not in a wrapper around every send.
        headers: RawHeaders = dict(scope["headers"])
        exchange = self._arrived(scope, headers)
        try:
            cutoff = Cutoff(scope)
            try:
                await self._steps(exchange, headers, cutoff, receive, send)
            except asyncio.CancelledError:
                if not cutoff.caught():
                    raise
                await self._cut_off(exchange, cutoff)
            finally:
                cutoff.close()
        except ApiError as error:
            if exchange.answered:
                raise RuntimeError("caught an ApiError, but the response had already started") from error
            await send_json(send, error.status, error.payload(), error.headers)

    async def _steps(
        self, exchange: Exchange, headers: RawHeaders, cutoff: Cutoff, receive: Receive, send: Send
    ) -> None:
        if exchange.checks is not None and (b"prefer" in headers or self.proxy.runtime.chaos.active):
            await self._chaos(exchange)
        await self._hold_body(exchange, receive)
        if exchange.body is not None:
            cutoff.listen(receive)
        self._check_request(exchange)
        monitor = self.proxy.monitor
        if monitor is not None:
            monitor.begin(exchange)
        try:
            upstream, relayed = await self._forward(exchange, headers, receive)
            cutoff.listen(receive)  # a streamed body is all read now
            try:
                held, complete = await self._take_answer(exchange, upstream)
                self._check_response(exchange, upstream, held, complete)
                await self._relay(exchange, upstream, relayed, held, complete, send)
            finally:
                await upstream.aclose()
        finally:
            if monitor is not None and exchange.watch is not None:
                monitor.abandon(exchange)  # no answer was judged: what it may have written is not known

    def _arrived(self, scope: Scope, headers: RawHeaders) -> Exchange:
        """The request's facts, its operation's checks, its credential and journal requestId."""
        checks = self.checks.get(scope["method"])
        query_string = scope["query_string"]
        target = scope.get("raw_path") or scope["path"].encode()
        if query_string:
            target += b"?" + query_string
        exchange = Exchange(
            api=self.api,
            method=scope["method"],
            path=scope["path"],
            query_string=query_string,
            target=target,
            raw_headers=scope["headers"],
            headers=DecodedHeaders(scope["headers"]),
            scheme=scope.get("scheme", "http"),
            path_params=scope.get("path_params", {}),
            checks=checks,
            credential=self.proxy.saw(headers, self.scheme),
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
        prefer = parse_prefer([v.decode("latin-1") for k, v in exchange.raw_headers if k == b"prefer"])
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

    async def _forward(
        self, exchange: Exchange, headers: RawHeaders, receive: Receive
    ) -> tuple[Response, list[tuple[bytes, bytes]]]:
        """The request sent upstream; the answer once its status and headers are in, and the
        headers to relay. An answer the proxy cannot pass on as it came (not HTTP, a status
        outside 100-599, a transfer coding other than chunked) is a 502 and a violation."""
        try:
            upstream = await self._send(exchange, headers, receive)
        except MalformedAnswer as exc:
            self._cannot_pass_on(exchange, exc.rule, str(exc), None)
        except httpx.TimeoutException as exc:
            self._record(exchange)
            waited = f"within {self.proxy.timeout:g} s"
            raise ApiError(
                504,
                f"no connection to the upstream {self.label} came free {waited}"
                if isinstance(exc, httpx.PoolTimeout)
                else f"the upstream {self.label} did not answer {waited}",
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
        exchange.response_headers, relayed = _merged(upstream.headers)
        codings = _transfer_codings(exchange.response_headers)
        if codings and codings != ["chunked"]:
            # Only chunked is undone on the way in (RFC 9112 §7); passed on without its
            # Transfer-Encoding, any other coding would reach the client mislabelled.
            await upstream.aclose()
            shown = shorten(printable(", ".join(codings)), 100)  # in the 502's message too
            self._cannot_pass_on(
                exchange, "transferCoding", f"Transfer-Encoding: {shown} (the proxy passes on only chunked)", shown
            )
        return upstream, relayed

    def _cannot_pass_on(self, exchange: Exchange, rule: str, problem: str, value: Any) -> NoReturn:
        """A 502 naming what the upstream sent, and a response violation."""
        checks = exchange.checks
        where = pointer(self.api, (*operation_parts(checks.operation), "responses") if checks else ("paths",))
        exchange.response_findings.append(Finding(rule, where, f"the upstream's answer: {problem}", value))
        self._record(exchange)
        raise ApiError(
            502,
            f"the upstream {self.label} sent an answer the proxy cannot pass on: {problem}",
            code="upstream_malformed",
            headers={VIOLATIONS_HEADER: str(exchange.findings)},
        )

    async def _send(self, exchange: Exchange, headers: RawHeaders, receive: Receive) -> Response:
        dropped = _HOP_BY_HOP
        connection = headers.get(b"connection")
        if connection is not None:
            dropped = dropped | {h.strip().lower() for h in connection.split(b",")}
        forwarded = [(k, v) for k, v in exchange.raw_headers if k not in dropped]
        client = self.proxy.client
        hold = self.proxy.max_response
        if exchange.body is not None:
            return await client.send(self.origin, exchange.method, exchange.target, forwarded, exchange.body, hold=hold)
        # A streamed body keeps its declared length; without one it goes out chunked.
        declared = headers.get(b"content-length")
        length = ascii_int(declared.decode("latin-1")) if declared is not None else None
        body = _rest(exchange.held, receive)
        return await client.send(self.origin, exchange.method, exchange.target, forwarded, body, length, hold)

    async def _take_answer(self, exchange: Exchange, upstream: Response) -> tuple[list[bytes], bool]:
        """The answer's body held to be checked, up to the buffer: (what was read, whole?).
        Past the buffer the rest is relayed as it comes, unchecked."""
        chunks = upstream.take_buffered()  # `send` waited for the held part
        size = sum(map(len, chunks))
        if upstream.complete or size > self.proxy.max_response:
            return chunks, upstream.complete and size <= self.proxy.max_response
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
        return chunks, complete

    def _check_response(self, exchange: Exchange, upstream: Response, held: list[bytes], complete: bool) -> None:
        """The response checks (of the body only when it was held whole); a conforming answer
        goes to the record file."""
        if complete:
            raw = held[0] if len(held) == 1 else b"".join(held)
            held[:] = [raw]
            encoding = (exchange.response_headers or {}).get("content-encoding")
            exchange.response_body = _decoded(raw, encoding, self.proxy.max_response)
        checks = exchange.checks
        if checks is not None:
            found = checks.run_response(exchange)
            if found:
                content_type = (exchange.response_headers or {}).get("content-type", "")
                found = ruled(checks, exchange.status, found, content_type, exchange.response_body)
            exchange.response_findings = found
        self._record(exchange)
        monitor = self.proxy.monitor
        if monitor is not None and checks is not None:
            behaviour = monitor.end(exchange)
            if behaviour:  # the usual case, none: no list made
                self._emit(exchange, [("response", f) for f in behaviour])
        recorder = self.proxy.recorder
        if checks is not None and not exchange.response_findings and recorder and exchange.response_body is not None:
            recorder.observe(checks.operation, exchange, exchange.credential)

    async def _relay(
        self,
        exchange: Exchange,
        upstream: Response,
        out: list[tuple[bytes, bytes]],
        held: list[bytes],
        complete: bool,
        send: Send,
    ) -> None:
        """The upstream's status and headers (`out`, + X-Convo-Violations), then its body: what
        was held, and past the buffer the rest as it comes, no faster than the client takes it
        (a client that leaves cuts the exchange off: see cutoff.py)."""
        # The length of what came back; not for HEAD, whose Content-Length describes the GET.
        if complete and exchange.method != "HEAD" and "content-length" not in (exchange.response_headers or {}):
            out.append((b"content-length", str(len(held[0]) if held else 0).encode()))
        out.append((_HEADER_KEY, str(exchange.findings).encode()))
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out})
        exchange.answered = True
        if complete:
            await send({"type": "http.response.body", "body": held[0] if held else b""})
            return
        for chunk in held:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        held.clear()
        try:
            async for chunk in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError as exc:
            # The status is already sent: record the break and leave the answer incomplete,
            # so the client sees a broken-off body as the upstream sent it.
            self._broke_off(exchange, upstream, exc)
            return
        await send({"type": "http.response.body", "body": b""})

    async def _cut_off(self, exchange: Exchange, cutoff: Cutoff) -> None:
        """The exchange ended early (its upstream connection closed by now): the client left,
        nothing more to send; or the proxy is stopping, a 503 if the answer has not begun,
        else the answer ends here, cut short. What the checks found so far is recorded; the
        cut itself is nobody's violation."""
        self._record(exchange)
        if cutoff.reason == LEFT:
            return
        if exchange.answered:
            await cutoff.hang_up()
            return
        raise ApiError(
            503,
            f"the proxy is stopping: it did not wait for the answer of the upstream {self.label}",
            code="proxy_stopping",
            headers={VIOLATIONS_HEADER: str(exchange.findings)},
        )

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
        if exchange.recorded == len(exchange.request_findings) + len(exchange.response_findings):
            return
        found = [
            *(("request", f) for f in exchange.request_findings),
            *(("response", f) for f in exchange.response_findings),
        ][exchange.recorded :]
        if found:
            exchange.recorded += len(found)
            self.proxy.violations.record(violations_of(exchange, found, self.proxy.redactor()))

    def _emit(self, exchange: Exchange, found: list[tuple[str, Finding]]) -> None:
        """Findings found after the exchange's own (the monitor's), recorded once each."""
        if found:
            self.proxy.violations.record(violations_of(exchange, found, self.proxy.redactor()))


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


def _transfer_codings(headers: Mapping[str, str]) -> list[str]:
    """The transfer codings of an answer, in order, lower case (RFC 9112 §6.1)."""
    value = headers.get("transfer-encoding")
    return [c.strip().lower() for c in value.split(",") if c.strip()] if value else []


def _merged(headers: list[tuple[bytes, bytes]]) -> tuple[dict[str, str], list[tuple[bytes, bytes]]]:
    """An answer's headers for the checks: names in lower case, repeated ones joined with ", "
    (RFC 9110 §5.3); and, in the same pass, the ones relayed (as sent, less the dropped)."""
    merged: dict[str, str] = {}
    relayed: list[tuple[bytes, bytes]] = []
    names = _NAMES
    for k, v in headers:
        known = names.get(k)
        if known is None:
            lower = k.lower()
            known = (lower.decode("latin-1"), lower in _RESPONSE_DROPPED)
            if len(names) < _NAMES_KEPT:
                names[k] = known
        name, dropped = known
        value = v.decode("latin-1")
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
        if not dropped:
            relayed.append((k, v))
    return merged, relayed


# Header names as upstreams spell them → (lower-case name, dropped from the relay?): a server
# sends the same few names in every answer. Bounded: past it, names are worked out each time.
_NAMES: dict[bytes, tuple[str, bool]] = {}
_NAMES_KEPT = 512


def _decoded(raw: bytes, encoding: str | None, limit: int) -> bytes | None:
    """The body as the checks need it; None when it cannot be decoded within `limit` bytes."""
    coding = coding_of(encoding)
    if coding is None:
        return raw
    try:
        return inflate_all(raw, coding, limit)
    except (TooLarge, NotInflatable):
        return None


__all__ = ["GC_THRESHOLDS", "VIOLATIONS_HEADER", "ProxyEndpoint", "ProxyState", "UnknownPaths"]
