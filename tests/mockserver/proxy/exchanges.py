"""Exchanges as the proxy hands them to its monitor, made in-process: the monitor's unit tests
drive `Monitor.begin`/`end` with them, in any order (two in flight at once, answers swapped)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson

import specs
from mockserver.proxy.exchange import Exchange, Finding
from mockserver.proxy.monitor import Monitor
from mockserver.proxy.traffic_check import OperationChecks
from specs.auth import scheme_of

ALICE = "demo-alice"
_CHECKS: dict[tuple[str, str], OperationChecks] = {
    (api, op.operation_id): OperationChecks(op) for api in specs.API_NAMES for op in specs.load(api).operations
}


@dataclass
class Driver:
    """A monitor and the exchanges sent through it, numbered like the proxy's requestIds."""

    monitor: Monitor = field(default_factory=Monitor)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def start(
        self,
        api: str,
        operation_id: str,
        item: str | None = None,
        query: str = "",
        body: Any = None,
        key: str | None = ALICE,
    ) -> Exchange:
        """An exchange forwarded (begun), its answer not yet in."""
        checks = _CHECKS[(api, operation_id)]
        op = checks.operation
        params = [p["name"] for p in op.parameters if p["in"] == "path"]
        headers = {k.lower(): v for k, v in (scheme_of(api).headers(key) if key is not None else {}).items()}
        raw = orjson.dumps(body) if body is not None else b""
        if raw:
            headers["content-type"] = "application/json"
        exchange = Exchange(
            api=api,
            method=op.method,
            path=op.path,
            query_string=query.encode(),
            target=b"",
            raw_headers=[],
            headers=headers,
            path_params={params[0]: item} if params and item is not None else {},
            checks=checks,
            credential=scheme_of(api).credential(headers).token,
            request_id=next(self.ids),
            held=raw,
            body=raw,
        )
        exchange.request_findings = checks.run_request(exchange)
        self.monitor.begin(exchange)
        return exchange

    def answer(self, exchange: Exchange, status: int, body: Any = None) -> list[Finding]:
        """Its answer comes in: the monitor's findings."""
        exchange.status = status
        exchange.response_headers = {"content-type": "application/json"}
        exchange.response_body = orjson.dumps(body) if body is not None else b""
        if body is not None:
            exchange.response_json = orjson.loads(exchange.response_body)  # as the shape checks leave it
        return self.monitor.end(exchange)

    def send(self, api: str, operation_id: str, status: int, answer: Any = None, **request: Any) -> list[Finding]:
        """One exchange, begun and answered."""
        return self.answer(self.start(api, operation_id, **request), status, answer)


def conversation(ident: str, **fields: Any) -> dict[str, Any]:
    """A Runtype conversation as the service answers it."""
    return {
        "id": ident,
        "title": "New Chat",
        "modelId": "m",
        "systemPrompt": None,
        "ownerId": "o",
        "metadata": {},
        "messages": [],
        "source": "app",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        **fields,
    }


def summary(ident: str, **fields: Any) -> dict[str, Any]:
    whole = conversation(ident, **fields)
    keys = ("id", "title", "modelId", "ownerId", "source", "createdAt", "updatedAt")
    return {**{k: whole[k] for k in keys}, "messageCount": len(whole["messages"])}


def page(*items: dict[str, Any], cursor: str | None = None) -> dict[str, Any]:
    return {
        "conversations": list(items),
        "pagination": {"limit": 20, "hasMore": cursor is not None, "nextCursor": cursor},
    }


def rules(found: list[Finding]) -> list[tuple[str, bool]]:
    """(rule, observation) of each finding."""
    return [(f.rule, f.observation) for f in found]
