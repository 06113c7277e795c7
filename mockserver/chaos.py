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
    def __init__(self, latency_ms: int = 0, error_rate: float = 0.0, random_seed: int | None = None) -> None:
        self.configure(latency_ms=latency_ms, error_rate=error_rate, random_seed=random_seed, code=None)

    def configure(self, *, latency_ms: int, error_rate: float, random_seed: int | None, code: int | None) -> None:
        """Also what `PUT /__mock__/chaos` calls: `code` forces a status on every request, as
        if each carried `Prefer: code=...` (a request's own Prefer header still wins)."""
        if latency_ms < 0 or not 0 <= error_rate <= 1 or (code is not None and not 100 <= code <= 599):
            raise ValueError("latency_ms must be >= 0, error_rate within 0..1, code an HTTP status")
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self.random_seed = random_seed
        self.code = code
        self._random = random.Random(random_seed)

    def settings(self) -> dict[str, object]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "random_seed": self.random_seed,
            "code": self.code,
        }

    async def before(self, operation: Operation, prefer: str | None) -> int | None:
        """Sleep as asked, raise a forced or injected error; return a forced success status."""
        code, delay = parse_prefer(prefer)
        if code is None and self.code is not None and str(self.code) in operation.statuses:
            code = self.code
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
