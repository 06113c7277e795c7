"""What a route handler receives (a request past auth and validation), and what the mock
learnt about a request on its way, for the journal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from .auth import ApiKey
from .store import Store

_KEY = "mock.request"


@dataclass(slots=True)  # not frozen: built on every request, and frozen init costs a call per field
class ValidatedRequest:
    store: Store
    key: ApiKey
    params: dict[str, Any]
    body: Any
    base_url: str  # the mock's public URL (--public-url, or the address the request arrived on)

    @property
    def tenant(self) -> str:
        return self.key.tenant


@dataclass(slots=True)
class RequestInfo:
    """Filled in as a request is matched and parsed; the journal reads it afterwards."""

    api: str | None = None
    operation: str | None = None
    request_id: int | None = None  # proxy mode: what this request's violations refer to
    fault: str | None = None  # a transport fault delivered: what, and by whom (faults.py)

    @staticmethod
    def of(scope: Scope) -> RequestInfo:
        """The request's info, created on first use (one per request, in `scope["state"]`)."""
        state = scope.setdefault("state", {})
        info = state.get(_KEY)
        if info is None:
            info = state[_KEY] = RequestInfo()
        return info  # type: ignore[no-any-return]


def get(scope: Scope) -> RequestInfo | None:
    """The request's info, or None when the request never reached an operation."""
    info = scope.get("state", {}).get(_KEY)
    return info if isinstance(info, RequestInfo) else None


# A handler answers synchronously: no await between reading and writing the store, so each
# request is atomic on the event loop.
Result = tuple[int, Any]
