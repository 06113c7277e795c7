"""Samples from real exchanges, for the report tests, until the families record them
themselves (`RunResult.samples`): `Context.send` is wrapped to record one `Sample` per
exchange, exactly what it sent and received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest

from contracts.context import Context, body_json
from contracts.curl import to_curl
from contracts.results import RunResult
from contracts.runner import run
from contracts.samples import Sample
from contracts.target import Exchange, Target
from mockserver.background import BackgroundServer


def sample_of(ctx: Context, operation_id: str, method: str, exchange: Exchange) -> Sample:
    request = exchange.request
    body: Any = None
    if request.content:
        try:
            body = json.loads(request.content)
        except ValueError:
            body = None
    return Sample(
        api=ctx.api,
        operation_id=operation_id,
        method=method,
        path=request.url.path,
        query=dict(request.url.params),
        body=body,
        status=exchange.response.status_code if exchange.response is not None else None,
        response=body_json(exchange),
        curl=to_curl(request, ctx.target.redactor),
    )


@contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Sample]]:
    """Every exchange a check sends through `Context.send`, as Samples."""
    recorded: list[Sample] = []
    original = Context.send

    def send(self: Context, op: Any, path: str | None = None, **kwargs: Any) -> Exchange:
        exchange = original(self, op, path, **kwargs)
        recorded.append(sample_of(self, op.operation_id, op.method, exchange))
        return exchange

    monkeypatch.setattr(Context, "send", send)
    yield recorded


def with_samples(result: RunResult, samples: list[Sample]) -> RunResult:
    """`result` carrying `samples`, as `RunResult.samples` will once the families record them."""
    if not hasattr(result, "samples") or not result.samples:
        result.samples = list(samples)
    return result


def recorded_run(
    app: Any, apis: list[str], families: list[str], **target: Any
) -> tuple[RunResult, Target, list[Sample]]:
    """A real run of `families` against `app` served on 127.0.0.1, with its samples."""
    target_obj = Target(base_url="", api_key=target.pop("api_key", "demo-alice"), **target)
    with BackgroundServer(app) as server, pytest.MonkeyPatch.context() as patch, recording(patch) as samples:
        target_obj = replace(target_obj, base_url=server.base_url)
        result = run(target_obj, apis, families)
    return with_samples(result, samples), target_obj, samples
