"""What a run sent and received, one `Sample` per exchange with a spec operation: the raw
material of spec coverage. Our families record one per `Context.send`; the Schemathesis
family records one per request in its events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sample:
    api: str
    operation_id: str  # the spec operation the request was sent to
    method: str
    path: str  # the concrete path sent, e.g. /v1/conversations/conv_1
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None  # the request's JSON body (None: none or not JSON)
    status: int | None = None  # None: no response (transport error)
    response: Any = None  # the response's JSON body (None: none or not JSON)
    curl: str | None = None  # a redacted command that reproduces the request
    source: str = "families"  # "families" or "schemathesis"
