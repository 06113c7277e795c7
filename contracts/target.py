"""What is being tested: a base URL, an API, and the keys to use; and the HTTP client that
talks to it and to nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from specs.auth import scheme_of
from specs.redact import Redactor

USER_AGENT = "convo-contracts"


@dataclass(frozen=True)
class Target:
    base_url: str
    # Out of the repr: a traceback shown with locals (pytest -l) must not print a key.
    api_key: str = field(repr=False)
    other_key: str | None = field(default=None, repr=False)
    readonly_key: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    read_only: bool = False
    systemprompt_id: str | None = None
    max_examples: int = 25
    seed: int = 0
    workers: int = 2

    @property
    def redactor(self) -> Redactor:
        return Redactor([self.api_key, self.other_key, self.readonly_key])

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"


def auth_headers(api: str, key: str | None) -> dict[str, str]:
    """The headers that carry `key` by the API's security scheme (none for no key)."""
    return scheme_of(api).headers(key) if key is not None else {}


class OffTargetRequest(RuntimeError):
    """A request that would leave the base URL's host: refused before it is sent."""


@dataclass
class Exchange:
    request: httpx.Request
    response: httpx.Response | None
    error: str | None = None


@dataclass
class Client:
    """httpx, pinned to the target's origin, never following redirects elsewhere."""

    target: Target
    api: str
    _http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(
            base_url=self.target.base_url.rstrip("/"),
            timeout=self.target.timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

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
        request = self._http.build_request(method, path, headers=all_headers, json=json, content=content, params=params)
        if f"{request.url.scheme}://{request.url.netloc.decode()}" != self.target.origin:
            raise OffTargetRequest(f"refusing to send to {request.url.host}: only {self.target.origin} is tested")
        try:
            response = self._http.send(request)
            response.read()
        except httpx.HTTPError as exc:
            return Exchange(request, None, f"{type(exc).__name__}: {exc}")
        return Exchange(request, response)
