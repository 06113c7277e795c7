"""The live parts of one mock instance: its store, keys, journal, chaos and seed."""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from .auth import ApiKey, Keyring
from .chaos import Chaos
from .config import MockConfig
from .journal import Journal
from .persistence import StateSaver, read_state
from .seed import SeedError, demo_data, normalize, read_seed_file
from .store import Clock, Store


class Runtime:
    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.store = Store()
        self.keys = Keyring(config.keys)
        self.journal = Journal(config.journal_size)
        self.chaos = Chaos(config.latency_ms, config.error_rate, config.random_seed)
        self.seed = self._initial_seed()
        saved = read_state(config.state_file) if config.state_file else None
        if saved is None:
            self.load(self.seed)
        else:
            # The seed is what reset returns to: check it now, not at the first reset.
            normalize(self.seed, Clock(), config.max_depth)
            try:
                self.load(saved)
            except SeedError as exc:
                raise SeedError(f"state file {config.state_file}: {exc}; fix it or move it away") from None
        self.saver = StateSaver(self.store, config.state_file) if config.state_file else None

    def _initial_seed(self) -> dict[str, Any]:
        if self.config.empty:
            return {"tenants": {}}
        if self.config.seed_file is not None:
            return read_seed_file(self.config.seed_file)
        return demo_data([k.tenant for k in self.keys])

    def load(self, data: Any) -> None:
        """Replace all data (seed, state file or PUT /__mock__/state); on error nothing changes.

        The keys become exactly the --key ones plus the data's tenants (a tenant nobody passed
        with --key gets a read-write key): keys of data that was replaced stop working.
        """
        tenants = normalize(data, self.store.clock, self.config.max_depth)
        keys = Keyring(self.config.keys)
        for name in tenants:
            if name not in keys:
                keys.add(ApiKey(name))
        self.store.replace(tenants)
        self.keys = keys

    def reset(self) -> None:
        self.load(self.seed)

    def public_url(self, scope: Scope) -> str:
        """Base of links and served specs: --public-url, else the address the request arrived
        on (the listening socket's, never the client-controlled Host header)."""
        if self.config.public_url:
            return self.config.public_url
        server = scope.get("server")
        host, port = server if server else (self.config.host, None)
        host = f"[{host}]" if ":" in host else host
        return f"{scope.get('scheme', 'http')}://{host}" + (f":{port}" if port else "")


__all__ = ["Runtime", "SeedError"]
