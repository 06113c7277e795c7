"""The live parts of one mock instance: its store, keys, journal, chaos and seed."""

from __future__ import annotations

from typing import Any

from .auth import ApiKey, Keyring
from .chaos import Chaos
from .config import MockConfig
from .journal import Journal
from .persistence import StateSaver, read_state
from .seed import SeedError, demo_data, normalize, read_seed_file
from .store import Store


class Runtime:
    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.store = Store()
        self.keys = Keyring(config.keys)
        self.journal = Journal(config.journal_size)
        self.chaos = Chaos(config.latency_ms, config.error_rate, config.random_seed)
        self.seed = self._initial_seed()
        saved = read_state(config.state_file) if config.state_file else None
        self.load(saved if saved is not None else self.seed)
        self.saver = StateSaver(self.store, config.state_file) if config.state_file else None

    def _initial_seed(self) -> dict[str, Any]:
        if self.config.empty:
            return {"tenants": {}}
        if self.config.seed_file is not None:
            return read_seed_file(self.config.seed_file)
        return demo_data([k.tenant for k in self.keys])

    def load(self, data: Any) -> None:
        """Replace all data (seed, state file or PUT /__mock__/state); on error nothing changes."""
        tenants = normalize(data, self.store.clock)
        # A seed may name tenants nobody passed with --key: they become read-write keys.
        for name in tenants:
            if name not in self.keys:
                self.keys.add(ApiKey(name))
        self.store.replace(tenants)

    def reset(self) -> None:
        self.load(self.seed)


__all__ = ["Runtime", "SeedError"]
