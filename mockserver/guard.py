"""Who may talk to the mock: the rules that keep a web page from driving it.

The control plane is unauthenticated by design (it serves the developer at the keyboard),
so the browser is the attacker to keep out:

- DNS rebinding points a hostile name at 127.0.0.1; the browser then sends that name as
  `Host`. Every route (the APIs too) answers only Host values that are this mock's own
  address: the loopback names, `--host`, and `--allowed-host` additions (else 421).
- A cross-site page can send "simple" requests (form posts, text/plain, no preflight).
  State-changing control requests need `Content-Type: application/json` (or no body at all)
  and an allowed or absent `Origin` (else 403).
- With `--control-token`, /__mock__/ also wants that token as a bearer credential, except
  for the dashboard's static shell (`OPEN_CONTROL_PATHS`): a browser cannot send the header
  when it navigates, so the page loads, asks for the token and sends it on every call.
- The request head is bounded (431): the server has already read it, but nothing keeps it.
"""

from __future__ import annotations

import hmac
import re

from starlette.types import Scope

from specs.auth import AuthScheme
from specs.integers import ascii_int
from specs.text import shorten

from .api.errors import ApiError
from .config import DEFAULT_CORS, MockConfig
from .control.dashboard import STATIC_FILES

CONTROL_PREFIX = "/__mock__"
CONTROL_AUTH = AuthScheme("controlToken", "bearer", "Authorization")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What loads without the control token: the dashboard's page and its own files, which hold
# no data (every figure the page shows comes from token-protected JSON routes). Exact paths,
# compared with the decoded path as received: `/__mock__/static/app.js/../state`, a trailing
# slash or another case is not in the set and needs the token. Health is not here: it names
# the APIs and a failing save's error, and a supervisor can send a header.
OPEN_CONTROL_PATHS = frozenset({CONTROL_PREFIX + "/", *(f"{CONTROL_PREFIX}/static/{name}" for name in STATIC_FILES)})
_OPEN_METHODS = frozenset({"GET", "HEAD"})


def host_name(value: str) -> str:
    """`Example.COM:8000` → `example.com`; `[::1]:80` → `::1`."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    name, sep, port = value.rpartition(":")
    return name if sep and ascii_int(port) is not None and ":" not in name else value


class OriginPolicy:
    """Browser origins allowed to call the mock: the same list CORS uses (`--cors-origin`)."""

    def __init__(self, config: MockConfig) -> None:
        origins = config.cors_origins
        self.any = "*" in origins
        self.exact = frozenset(o.rstrip("/").lower() for o in origins)
        self.pattern = None if origins else re.compile(DEFAULT_CORS)

    def allows(self, origin: str) -> bool:
        if self.any:
            return True
        if self.pattern is not None:
            return self.pattern.fullmatch(origin) is not None
        return origin.rstrip("/").lower() in self.exact


class Guard:
    """The checks, asked first by `app.Front`: a refused request never reaches CORS, the journal
    or a route."""

    def __init__(self, config: MockConfig) -> None:
        self.hosts = config.host_names
        self.origins = OriginPolicy(config)
        self.token = config.control_token.encode() if config.control_token else None
        self.max_header_bytes = config.max_header_bytes
        self.max_headers = config.max_headers
        self._host_allowed: dict[bytes, bool] = {}

    def check(self, scope: Scope, by_name: dict[bytes, bytes], size: int) -> ApiError | None:
        """The error to answer, or None. `by_name`: `dict(scope["headers"])`; `size`: the
        bytes of the headers' names and values (both counted once, by the caller, for all)."""
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        if len(raw) > self.max_headers:
            return ApiError(431, f"too many request headers ({len(raw)}); the limit is {self.max_headers}")
        if size > self.max_header_bytes:
            return ApiError(431, f"request headers are {size} bytes; the limit is {self.max_header_bytes} bytes")
        host = by_name.get(b"host")
        if host is None or len(by_name) != len(raw):
            hosts = [value for name, value in raw if name == b"host"]
            if len(hosts) != 1:  # a name sent twice left `by_name` shorter than the list
                # Two Host headers let a proxy and this mock each see a different one (RFC 9112
                # section 3.2 says 400); none at all is HTTP/1.0 or a broken client.
                return ApiError(400, f"a request must carry exactly one Host header (got {len(hosts)})")
            host = hosts[0]
        if b"," in host:
            return ApiError(400, "the Host header must name one host, not a comma-separated list")
        allowed = self._host_allowed.get(host)
        if allowed is None:
            # Clients send the same few Host values: decide each once (bounded: a flood of
            # made-up values, or long ones, only ever costs the parse).
            allowed = host_name(host.decode("latin-1")) in self.hosts
            if len(self._host_allowed) < 256 and len(host) <= 255:
                self._host_allowed[host] = allowed
        if not allowed:
            hostname = host_name(host.decode("latin-1"))
            return ApiError(
                421,
                f"this mock does not answer to Host {shorten(hostname, 80)!r}; "
                f"allowed: {', '.join(sorted(self.hosts))} (add more with --allowed-host)",
            )
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._check_control(scope, raw)
        return None

    def _check_control(self, scope: Scope, raw: list[tuple[bytes, bytes]]) -> ApiError | None:
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}
        if self.token is not None and not (scope["method"] in _OPEN_METHODS and scope["path"] in OPEN_CONTROL_PATHS):
            credential = CONTROL_AUTH.credential(headers)
            if credential.token is None or not hmac.compare_digest(credential.token.encode(), self.token):
                return ApiError(
                    401,
                    "the control plane needs the --control-token: send "
                    + CONTROL_AUTH.usage().replace("api key", "control token"),
                )
        if scope["method"] in _SAFE_METHODS:
            return None
        origin = headers.get("origin")
        # The mock's own pages (the dashboard) are same-origin: their Host passed the check above.
        own = f"{scope['scheme']}://{headers.get('host', '')}".lower()
        same_origin = origin is not None and origin.rstrip("/").lower() == own
        if origin is not None and not same_origin and not self.origins.allows(origin):
            return ApiError(403, f"requests from origin {shorten(origin, 80)!r} may not change the mock's state")
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if media_type != "application/json" and (media_type or has_body):
            return ApiError(
                403,
                "control requests that change state must be sent as Content-Type: application/json "
                f"(got {shorten(media_type, 60) or 'none'}); a web form cannot send that",
            )
        return None
