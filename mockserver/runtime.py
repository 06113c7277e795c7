"""The live parts of one mock instance: its store, keys, journal, chaos and seed."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from starlette.types import Scope

import specs
from specs.auth import scheme_of

from .api.auth import ApiKey, Keyring
from .api.seed import SeedError, demo_data, normalize, read_seed_file
from .api.store import Clock, Store
from .config import MockConfig
from .control.chaos import Chaos
from .control.faults import Source, parse_flag, parse_rule
from .control.journal import Journal
from .persistence import StateFileBusy, StateLock, StateSaver, read_state, remove_leftovers


def _lock(path: Path) -> StateLock:
    try:
        return StateLock.acquire(path)
    except OSError as exc:
        raise SeedError(f"cannot use state file {path}: {exc.strerror or exc}") from None


class Runtime:
    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.store = Store()
        self.keys = Keyring(config.keys)
        self.journal = Journal(config.journal_size, labeler=self.tenant_label, secrets=self._secrets)
        self.operations = [op for api in config.apis for op in specs.load(api).operations]
        rules = [parse_rule(parse_flag(text), Source.FLAG, self.operations) for text in config.faults]
        self.chaos = Chaos(self.operations, config.latency_ms, config.error_rate, config.random_seed, rules)
        # A new id per process: the dashboard starts over when the mock it polls was restarted.
        self.instance = secrets.token_hex(8)
        self._public_urls: dict[tuple[Any, Any], str] = {}
        self.seed = self._initial_seed()
        self.state_lock: StateLock | None = None
        self.saver: StateSaver | None = None
        if config.state_file is not None:
            self.state_lock = _lock(config.state_file)
            try:
                self._load_state(config.state_file)
            except BaseException:
                self.close()
                raise
            self.saver = StateSaver(self.store, config.state_file)
        else:
            self.load(self.seed)

    def _load_state(self, path: Path) -> None:
        remove_leftovers(Path(os.path.realpath(path)))  # ours alone to clean: we hold the lock
        saved = read_state(path)
        if saved is None:
            self.load(self.seed)
            return
        # The seed is what reset returns to: check it now, not at the first reset.
        normalize(self.seed, Clock(), self.config.max_depth)
        try:
            self.load(saved)
        except SeedError as exc:
            raise SeedError(f"state file {path}: {exc}; fix it or move it away") from None

    def close(self) -> None:
        """Give the state file up (after the final save): another mock may take it."""
        if self.state_lock is not None:
            self.state_lock.release()

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
        # A fresh clock: time runs on from the new data, not from what it replaces (a reset
        # after far-future data brings the clock back to the present).
        clock = Clock()
        tenants = normalize(data, clock, self.config.max_depth)
        keys = Keyring(self.config.keys)
        for name in tenants:
            if name not in keys:
                keys.add(ApiKey(name))
        self.store.replace(tenants, clock)
        self.keys = keys

    def tenant_label(self, api: str | None, headers: Mapping[str, str]) -> str | None:
        """The label of the key a request carried (by its API's scheme, else any served API's)."""
        for name in (api,) if api else self.config.apis:
            token = scheme_of(name).credential(headers).token
            if token is not None:
                return self.keys.label(token)
        return None

    def _secrets(self) -> Iterator[str]:
        return (key.key for key in self.keys)

    def reset(self) -> None:
        self.load(self.seed)

    def public_url(self, scope: Scope) -> str:
        """Base of links and served specs: --public-url, else the address the request arrived
        on (the listening socket's, never the client-controlled Host header)."""
        if self.config.public_url:
            return self.config.public_url
        server, scheme = scope.get("server"), scope.get("scheme", "http")
        known = self._public_urls.get((server, scheme))  # a server listens on one or two addresses
        if known is not None:
            return known
        host, port = server if server else (self.config.host, None)
        host = f"[{host}]" if ":" in host else host
        url = f"{scheme}://{host}" + (f":{port}" if port else "")
        if len(self._public_urls) < 16:
            self._public_urls[(server, scheme)] = url
        return url


__all__ = ["Runtime", "SeedError", "StateFileBusy"]
