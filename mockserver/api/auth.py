"""API keys and tenants: each key is its own tenant; a read-only key may read but not write.

Keys are secrets even in a mock (a developer may start it with their real key so that their
app's configuration needs no change), so nothing here puts a key into a message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from specs.auth import AuthScheme, CredentialProblem

from .errors import ApiError

DEFAULT_KEYS = ("demo-alice", "demo-bob", "demo-readonly:readonly")
# The demo keys are public (README, banner): journals and the dashboard call them by these
# names. Every other key is known only by a fingerprint (`label_of`).
DEMO_LABELS = {"demo-alice": "alice", "demo-bob": "bob", "demo-readonly": "readonly"}


@dataclass(frozen=True)
class ApiKey:
    key: str
    readonly: bool = False
    # The name given with `--key NAME=SECRET`: how journals and the dashboard show the tenant.
    name: str | None = None

    @property
    def tenant(self) -> str:
        return self.key

    @property
    def label(self) -> str:
        """Identifies the key without revealing it: its name, else a short stable hash."""
        return self.name or label_of(self.key)


def label_of(secret: str) -> str:
    """How a key is shown when it has no name: a demo key by its public name (`alice`), any
    other as `key-` and 8 hex digits of its SHA-256 (stable across runs, not reversible)."""
    demo = DEMO_LABELS.get(secret)
    return demo if demo is not None else "key-" + hashlib.sha256(secret.encode()).hexdigest()[:8]


def is_demo(secret: str) -> bool:
    """A demo key: public, so the banner may print it verbatim."""
    return secret in DEMO_LABELS


def check_key_text(text: str, what: str = "an API key") -> None:
    """A key is sent in an HTTP header: printable ASCII without spaces, or no client could
    ever present it. The message never repeats the text (it may be a secret)."""
    if not text or not text.isascii() or not text.isprintable() or any(c.isspace() for c in text):
        raise ValueError(f"{what} must be non-empty printable ASCII without spaces (it goes in an HTTP header)")


def parse_key(spec: str) -> ApiKey:
    """`KEY`, `KEY:readonly`, `NAME=KEY` or `NAME=KEY:readonly`, as given to `--key`."""
    body, sep, flag = spec.rpartition(":")
    readonly = bool(sep) and flag == "readonly"
    if not readonly:
        body = spec
    name, eq, secret = body.partition("=")
    key = ApiKey(secret, readonly=readonly, name=name) if eq else ApiKey(body, readonly=readonly)
    check_key_text(key.key)
    if eq and (not name or not name.isprintable() or any(c.isspace() for c in name)):
        raise ValueError("a key's name (NAME=KEY) must be non-empty printable text without spaces")
    return key


class Keyring:
    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._keys: dict[str, ApiKey] = {}
        # (scheme name, the header's raw value) → its key: clients send the same few values, and
        # reading the scheme's header costs a request more than looking it up. Bounded: a flood
        # of made-up values only ever costs the reading.
        self._recent: dict[tuple[str, bytes], ApiKey] = {}
        labels: set[str] = set()
        for key in keys:
            known = self._keys.get(key.key)
            if known is not None and known != key:
                raise ValueError(f"the key named {key.label!r} is given twice, differently (--key)")
            if key.label in labels and known is None:
                # A demo key's public name counts: `--key alice=X` beside demo-alice is ambiguous.
                raise ValueError(f"two keys are named {key.label!r}: a name must tell its tenant apart (--key)")
            labels.add(key.label)
            self.add(key)

    def add(self, key: ApiKey) -> None:
        self._keys[key.key] = key
        self._recent.clear()

    def authenticate_raw(self, scheme: AuthScheme, value: bytes | None) -> ApiKey:
        """`authenticate`, given the raw value of the scheme's header (None: not sent)."""
        if value is not None:
            known = self._recent.get((scheme.name, value))
            if known is not None:
                return known
        key = self.authenticate(scheme, {} if value is None else {scheme.header_key: value.decode("latin-1")})
        if value is not None and len(self._recent) < 256 and len(value) <= 1024:
            self._recent[(scheme.name, value)] = key
        return key

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

    def identify(self, scheme: AuthScheme, headers: Mapping[str, str]) -> ApiKey | None:
        """The known key a request carries, or None: never raises (faults scoped to a tenant)."""
        token = scheme.credential(headers).token
        return None if token is None else self._keys.get(token)

    def label(self, token: str) -> str:
        key = self._keys.get(token)
        return key.label if key is not None else label_of(token)

    def _lookup(self, token: str) -> ApiKey:
        key = self._keys.get(token)
        if key is None:
            raise ApiError(401, "unknown API key")
        return key
