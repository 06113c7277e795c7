"""What a route handler receives: a request that has passed auth and validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .auth import ApiKey
from .store import Store


@dataclass(frozen=True)
class ValidatedRequest:
    store: Store
    key: ApiKey
    params: dict[str, Any]
    body: Any
    base_url: str  # scheme://host[:port] as the client addressed us, for links

    @property
    def tenant(self) -> str:
        return self.key.tenant


# A handler answers synchronously: no await between reading and writing the store, so each
# request is atomic on the event loop.
Result = tuple[int, Any]
