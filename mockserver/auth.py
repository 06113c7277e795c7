"""API keys and tenants: each key is its own tenant; a read-only key may read but not write.

Keys are secrets even in a mock (a developer may start it with their real key so that their
app's configuration needs no change), so nothing here puts a key into a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from specs.auth import AuthScheme, CredentialProblem

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

    def authenticate(self, scheme: AuthScheme, headers: Mapping[str, str]) -> ApiKey:
        """The key a request carries by the API's security scheme; 401 when missing, malformed or unknown."""
        credential = scheme.credential(headers)
        if credential.problem is CredentialProblem.MISSING:
            raise ApiError(401, f"missing credentials: send {scheme.usage()}")
        if credential.token is None:
            raise ApiError(401, f"malformed {scheme.header} header: expected {scheme.usage()}")
        return self._lookup(credential.token)

    def _lookup(self, token: str) -> ApiKey:
        key = self._keys.get(token)
        if key is None:
            raise ApiError(401, "unknown API key")
        return key
