"""What is being tested: one API's deployment (base URL, keys, run settings), and the HTTP
client that talks to it and to nothing else, within a time and size budget."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

from specs.auth import scheme_of
from specs.curl import curl_line
from specs.inflate import CODINGS, NotInflatable, TooLarge, coding_of, inflate
from specs.redact import Redactor, Secret, redact_url

from .errors import CannotRun
from .settings import DEFAULT_TIMEOUT, MODEL_EXAMPLES, MODEL_SECONDS, MODEL_STEPS

USER_AGENT = "convo-contracts"
# A response body larger than this (after decompression) is a failure, never read whole:
# a huge or gzip-bomb response must not cost the run gigabytes of memory.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
# Clean-up may outlive the run's deadline by this much: what the run created must go.
CLEAN_UP_GRACE = 60.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """`scheme://host[:port]` compared normalised: host case-insensitive, default port dropped."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else "")


class Credential(StrEnum):
    """Whose credential a request carries: the main key, another tenant's key
    (`--other-key`), the read-only key (`--readonly-key`), or none at all."""

    MAIN = "main"
    OTHER = "other"
    READONLY = "readonly"
    NONE = "none"


@dataclass(frozen=True)
class Target:
    """One API's deployment and the run's settings. `base_url` is normalised by
    `settings.normalise_url` (no trailing slash, lower-case host, no default port)."""

    base_url: str
    api_key: str
    other_key: str | None = None
    readonly_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    read_only: bool = False
    systemprompt_id: str | None = None
    max_examples: int = 25
    seed: int = 0
    workers: int = 2
    model_examples: int = MODEL_EXAMPLES
    model_steps: int = MODEL_STEPS
    model_seconds: float = MODEL_SECONDS
    strict: bool = False
    deadline: float | None = None  # time.monotonic() by which the run must end
    # Every key of the run (all APIs'): whatever this target writes down redacts them all.
    run_secrets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("api_key", "other_key", "readonly_key"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Secret):
                object.__setattr__(self, name, Secret(value))
        object.__setattr__(self, "run_secrets", tuple(Secret(s) for s in self.run_secrets))

    def key_for(self, credential: Credential) -> str | None:
        """The key `credential` stands for; None for Credential.NONE. A key the run was not
        given is the suite's bug (a check must skip without it), never a request sent bare."""
        if credential is Credential.NONE:
            return None
        key = {Credential.MAIN: self.api_key, Credential.OTHER: self.other_key, Credential.READONLY: self.readonly_key}[
            credential
        ]
        if key is None:
            raise ValueError(f"no {credential.value} key was given for this run")
        return key

    @property
    def redactor(self) -> Redactor:
        return Redactor([self.api_key, self.other_key, self.readonly_key, *self.run_secrets])

    @property
    def origin(self) -> str:
        return origin_of(self.base_url)

    @property
    def display_url(self) -> str:
        """The base URL as it may be printed: a password in it is redacted."""
        return redact_url(self.base_url)

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


def auth_headers(api: str, key: str | None) -> dict[str, str]:
    """The headers that carry `key` by the API's security scheme (none for no key)."""
    return scheme_of(api).headers(str(key)) if key is not None else {}


class OffTargetRequest(RuntimeError):
    """A request that would leave the base URL's host: refused before it is sent."""


class DeadlinePassed(CannotRun):
    """The run-wide deadline (`--max-duration`) passed: the run stops, cleans up and reports."""


@dataclass
class Exchange:
    request: httpx.Request
    response: httpx.Response | None
    error: str | None = None

    def curl(self, redact: Redactor) -> str:
        """The request as a curl command (`specs.curl`: redacted, bounded, shell-quoted)."""
        return request_curl(self.request, redact)


def request_curl(request: httpx.Request, redact: Redactor) -> str:
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
    return curl_line(request.method, str(request.url), headers, request.content, redact)


@dataclass
class Client:
    """httpx, pinned to the target's origin, never following redirects elsewhere; each
    request bounded in total time (not only between bytes) and in response size."""

    target: Target
    api: str
    _http: httpx.Client = field(init=False)
    # Clean-up runs past the deadline for a bounded grace period.
    grace: float = 0.0

    def __post_init__(self) -> None:
        self._http = httpx.Client(
            base_url=self.target.base_url,
            timeout=self.target.timeout,
            follow_redirects=False,
            # Only the codings `_read_bounded` inflates step by step (no brotli/zstd bombs).
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": ", ".join(sorted(CODINGS))},
        )

    def close(self) -> None:
        self._http.close()

    def _budget(self) -> float:
        remaining = self.target.remaining()
        if remaining is None:
            return self.target.timeout
        remaining += self.grace
        if remaining <= 0:
            raise DeadlinePassed("the run took longer than its --max-duration and was stopped")
        return min(self.target.timeout, remaining)

    def send(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> Exchange:
        """Send with `key` (None: no credentials); `headers` override the auth headers."""
        all_headers = {**auth_headers(self.api, key), **(headers or {})}
        budget = self._budget()
        request = self._http.build_request(
            method, path, headers=all_headers, json=json, content=content, params=params, timeout=budget
        )
        if origin_of(str(request.url)) != self.target.origin:
            raise OffTargetRequest(f"refusing to send to {request.url.host}: only {self.target.origin} is tested")
        ends = time.monotonic() + budget
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            return Exchange(request, None, f"{type(exc).__name__}: {exc}")
        try:
            problem = _read_bounded(response, ends, budget)
        except httpx.HTTPError as exc:
            return Exchange(request, None, f"{type(exc).__name__}: {exc}")
        finally:
            response.close()
        # A body cut short is no answer to judge: the exchange fails as "no response: why".
        return Exchange(request, None, problem) if problem else Exchange(request, response)


def _read_bounded(response: httpx.Response, ends: float, budget: float) -> str | None:
    """Read the body within the time left and the size cap; a reason when it could not be.

    httpx's timeouts are per read: a server sending one byte a second never trips them, so
    the total is checked between chunks. A compressed body is inflated by `specs.inflate`,
    a step at a time, so a gzip bomb stops at the cap instead of filling memory."""
    coding = coding_of(response.headers.get("content-encoding"))
    raw = response.iter_raw()
    body = raw if coding is None else inflate(raw, coding, MAX_RESPONSE_BYTES)
    too_large = f"response body over {MAX_RESPONSE_BYTES} bytes (after decompression): stopped reading"
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in body:
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                return too_large
            parts.append(chunk)
            if time.monotonic() > ends:
                return f"response not complete within {budget:g} s: stopped reading"
    except TooLarge:
        return too_large
    except NotInflatable as exc:
        return f"response body could not be decompressed ({exc})"
    response._content = b"".join(parts)
    return None
