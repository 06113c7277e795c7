"""API keys and tenants: each key is its own tenant; a read-only key may read but not write.

Keys are secrets even in a mock (a developer may start it with their real key so that their
app's configuration needs no change), so nothing here puts a key into a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from starlette.datastructures import Headers

from .errors import ApiError

DEFAULT_KEYS = ("demo-alice", "demo-bob", "demo-readonly:readonly")


@dataclass(frozen=True)
class ApiKey:
    key: str
    readonly: bool = False

    @property
    def tenant(self) -> str:
        return self.key


def parse_key(spec: str) -> ApiKey:
    """`NAME` or `NAME:readonly`, as given to `--key`."""
    name, sep, flag = spec.rpartition(":")
    key = ApiKey(name, readonly=True) if sep and flag == "readonly" else ApiKey(spec)
    if not key.key or any(c.isspace() for c in key.key) or not key.key.isprintable():
        raise ValueError("an API key must be non-empty printable text without spaces")
    return key


class Keyring:
    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._keys: dict[str, ApiKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: ApiKey) -> None:
        self._keys[key.key] = key

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(self._keys.values())

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def bearer(self, headers: Headers) -> ApiKey:
        """Runtype: `Authorization: Bearer <token>`."""
        value = headers.get("authorization")
        if value is None:
            raise ApiError(401, "missing credentials: send 'Authorization: Bearer <api key>'")
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "malformed Authorization header: expected 'Bearer <api key>'")
        return self._lookup(token.strip())

    def api_key_header(self, headers: Headers) -> ApiKey:
        """systemprompt.io: `api-key: <key>`."""
        value = headers.get("api-key")
        if value is None or not value.strip():
            raise ApiError(401, "missing credentials: send the 'api-key' header")
        return self._lookup(value.strip())

    def _lookup(self, token: str) -> ApiKey:
        key = self._keys.get(token)
        if key is None:
            raise ApiError(401, "unknown API key")
        return key
