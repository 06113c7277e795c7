"""Everything the mock can be told at start-up, as one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import specs

from .auth import DEFAULT_KEYS, ApiKey, parse_key

DEFAULT_CORS = r"https?://(localhost|127\.0\.0\.1)(:\d+)?"


@dataclass(frozen=True)
class MockConfig:
    apis: tuple[str, ...] = specs.API_NAMES
    keys: tuple[ApiKey, ...] = field(default_factory=lambda: tuple(parse_key(k) for k in DEFAULT_KEYS))
    seed_file: Path | None = None
    empty: bool = False
    state_file: Path | None = None
    max_body: int = 1024 * 1024
    # JSON nested deeper than this is refused: orjson cannot write back past ~254 levels.
    max_depth: int = 64
    latency_ms: int = 0
    error_rate: float = 0.0
    random_seed: int | None = None
    cors_origins: tuple[str, ...] = ()  # empty: localhost and 127.0.0.1 on any port
    journal_size: int = 500
    faults: tuple[str, ...] = ()  # --fault rules as given, e.g. "status=503,times=2"
