"""The one place a spec's security scheme is interpreted.

Both APIs declare exactly one scheme: Runtype an HTTP bearer token (`Authorization: Bearer
<key>`), systemprompt.io an API key in a header (`api-key: <key>`). The mock reads a
credential with `AuthScheme.credential`, the suite and the fixtures build headers with
`AuthScheme.headers`, and redaction, journals and curl rendering learn which headers hold
secrets from `AuthScheme.secret_header_names`. Nothing else looks at `securitySchemes`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CredentialProblem(StrEnum):
    MISSING = "missing"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Credential:
    """What a request carried: a token, or why there is none (`problem`)."""

    token: str | None
    problem: CredentialProblem | None = None


@dataclass(frozen=True)
class AuthScheme:
    """One security scheme: `bearer` (HTTP `Authorization: Bearer`) or `header` (an API-key header)."""

    name: str  # the scheme's name in the spec, e.g. bearerAuth
    kind: str  # "bearer" | "header"
    header: str  # the header that carries the credential, as the spec spells it

    @property
    def header_key(self) -> str:
        """The header name in lower case, as ASGI servers and httpx present it."""
        return self.header.lower()

    @property
    def secret_header_names(self) -> frozenset[str]:
        return frozenset({self.header_key})

    def headers(self, key: str) -> dict[str, str]:
        """The request headers that carry `key` by this scheme."""
        if self.kind == "bearer":
            return {self.header: f"Bearer {key}"}
        return {self.header: key}

    def usage(self) -> str:
        """How a client must send its key, for error messages: `'Authorization: Bearer <api key>'`."""
        return f"'{self.header}: {'Bearer ' if self.kind == 'bearer' else ''}<api key>'"

    def credential(self, headers: Mapping[str, str]) -> Credential:
        """The token a request carries by this scheme. `headers` is looked up by lower-case name."""
        value = headers.get(self.header_key)
        if value is None or not value.strip():
            return Credential(None, CredentialProblem.MISSING if value is None else CredentialProblem.MALFORMED)
        if self.kind == "header":
            return Credential(value.strip())
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Credential(None, CredentialProblem.MALFORMED)
        return Credential(token.strip())

    def malformed_examples(self, key: str) -> list[tuple[str, dict[str, str]]]:
        """Credentials that carry `key` in a form the scheme does not allow, labelled for reports."""
        if self.kind == "bearer":
            return [
                (f"a malformed {self.header} header (no scheme)", {self.header: key}),
                (f"a malformed {self.header} header (Basic)", {self.header: "Basic Y29udm86Y29udHJhY3Rz"}),
            ]
        return [(f"an empty {self.header} header", {self.header: ""})]


def from_spec(content: Mapping[str, Any]) -> AuthScheme:
    """The single security scheme a spec document declares (a spec with several is refused)."""
    schemes: Mapping[str, Mapping[str, Any]] = content.get("components", {}).get("securitySchemes", {})
    if len(schemes) != 1:
        raise ValueError(f"expected exactly one security scheme, found {len(schemes)}")
    ((name, scheme),) = schemes.items()
    if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        return AuthScheme(name, "bearer", "Authorization")
    if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
        return AuthScheme(name, "header", str(scheme["name"]))
    raise ValueError(f"unsupported security scheme {name!r}: {dict(scheme)}")


@functools.cache
def scheme_of(api: str) -> AuthScheme:
    """The security scheme of an API, by name (`runtype`, `systemprompt`)."""
    from . import load  # the package imports this module; load lazily to avoid a cycle

    return from_spec(load(api).content)


@functools.cache
def all_secret_header_names() -> frozenset[str]:
    """Every header either API carries a credential in (lower case)."""
    from . import API_NAMES

    names: set[str] = set()
    for api in API_NAMES:
        names |= scheme_of(api).secret_header_names
    return frozenset(names)
