"""Reading the APIs' timestamps (`createdAt`, `updatedAt`), for both sides: the suite's
semantics family and the proxy's monitor judge them by the same two rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Seconds: coarser than any clock a server may stamp `updatedAt` with. Two stamps taken this
# far apart must differ; closer together, equal stamps may be a clock read to the second.
RESOLUTION = 1.1


def instant(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with its zone as a moment in time, None when it is not one
    (the documentation's examples are RFC 3339 in UTC; `Z` and `+00:00` are the same)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


__all__ = ["RESOLUTION", "instant"]
