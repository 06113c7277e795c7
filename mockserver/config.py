"""Everything the mock can be told at start-up, as one value, and the names it is told by."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import specs

from .api.auth import DEFAULT_KEYS, ApiKey, parse_key

DEFAULT_CORS = r"https?://(localhost|127\.0\.0\.1)(:\d+)?"
# Host names that always reach this machine's loopback interface, whatever --host says.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# The control token's environment variable: a secret is better kept out of `ps` output.
CONTROL_TOKEN_ENV = "CONVO_MOCK_CONTROL_TOKEN"
# The largest --journal-size: each entry may hold ~21 KiB at worst (the journal's bound in docs/mock.md).
MAX_JOURNAL_SIZE = 10_000
# `--record-key`'s variable, KEY=NAME pairs separated by white space: real keys stay out of `ps`.
RECORD_KEYS_ENV = "CONVO_MOCK_RECORD_KEYS"


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
    journal_size: int = 500  # 0: no journal, and no capture work on any request
    # The address the mock listens on: with the loopback names, the Host values it answers.
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    # Base of `_link` and the served specs' `servers`; None: the address a request arrived on.
    public_url: str | None = None
    # When set, /__mock__/ wants `Authorization: Bearer <token>` (for non-loopback --host).
    control_token: str | None = field(default=None, repr=False)
    max_state_bytes: int = 64 * 1024 * 1024
    # Request head limits (431 past them): real browsers send a few KB in a few dozen headers.
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    # Seconds a connection may take to send a request head (a client dripping it is dropped).
    head_timeout: float = 30.0
    # Bodies larger than this are parsed and validated by a worker thread, one at a time (body.py).
    parse_in_thread_bytes: int = 64 * 1024

    @property
    def host_names(self) -> frozenset[str]:
        """Host header values (without port) this mock answers to; anything else is 421."""
        # The --host value itself, even 0.0.0.0: a rebinding page's Host is its own domain name.
        names = {self.host, *self.allowed_hosts}
        return LOOPBACK_HOSTS | {h.strip("[]").lower() for h in names}

    # Proxy mode (proxy.py): API name → upstream base URL; an API without one is mocked.
    upstreams: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # a URL may hold a password
    proxy_strict: bool = False
    upstream_timeout: float = 30.0  # seconds
    # Responses up to this size are held to be checked before they are sent on.
    proxy_buffer: int = 8 * 1024 * 1024
    record_file: Path | None = None
    record_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # API key → tenant name
    # The behaviour monitor (proxy/monitor.py): off, only each answer's shape is checked.
    behaviour_monitor: bool = True
    # The proxy is the only writer (as in a CI job): a state contradiction is then a violation.
    sole_writer: bool = False
    faults: tuple[str, ...] = ()  # --fault rules as given, e.g. "status=503,times=2"
