"""Forced responses and injected latency or errors, for frontend work.

Per request, the `Prefer` header as Prism users know it: `Prefer: code=404`,
`Prefer: delay=300` (ms), or both. Globally, `--latency MS` and `--error-rate P` with
`--random-seed N` so that a chaotic run can be replayed.
"""

from __future__ import annotations

import asyncio
import random

from specs import Operation

from .errors import ApiError

MAX_DELAY_MS = 60_000


class Chaos:
    def __init__(self, latency_ms: int, error_rate: float, random_seed: int | None) -> None:
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self._random = random.Random(random_seed)

    async def before(self, operation: Operation, prefer: str | None) -> int | None:
        """Sleep as asked, raise a forced or injected error; return a forced success status."""
        code, delay = parse_prefer(prefer)
        wait = self.latency_ms + (delay or 0)
        if wait:
            await asyncio.sleep(min(wait, MAX_DELAY_MS) / 1000)
        if code is not None:
            documented = operation.statuses
            if str(code) not in documented:
                raise ApiError(
                    400,
                    f"Prefer: code={code} is not a status {operation.operation_id} documents "
                    f"(documented: {', '.join(documented)})",
                    code="invalid_prefer",
                )
            if code >= 400:
                raise ApiError(code, f"forced by the request's Prefer header (code={code})", code="forced")
            return code
        if self.error_rate and self._random.random() < self.error_rate:
            raise ApiError(500, "injected by --error-rate", code="injected")
        return None


def parse_prefer(value: str | None) -> tuple[int | None, int | None]:
    """`code=404, delay=300` → (404, 300). Unknown preferences are ignored, as RFC 7240 asks."""
    code = delay = None
    if not value:
        return None, None
    for part in value.replace(";", ",").split(","):
        name, _, raw = part.strip().partition("=")
        raw = raw.strip().strip('"')
        if name.strip().lower() == "code":
            if not raw.isdigit() or not 100 <= int(raw) <= 599:
                raise ApiError(400, f"Prefer: code={raw[:20]!r} is not an HTTP status", code="invalid_prefer")
            code = int(raw)
        elif name.strip().lower() == "delay":
            if not raw.isdigit():
                raise ApiError(
                    400, f"Prefer: delay={raw[:20]!r} is not a number of milliseconds", code="invalid_prefer"
                )
            delay = int(raw)
    return code, delay
