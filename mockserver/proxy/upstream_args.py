"""`--upstream URL` or `--upstream API=URL`: which API goes to which upstream."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from specs.redact import redact_url


def parse_upstreams(values: Sequence[str], apis: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """API name → base URL; a bare URL applies to every API served. Errors never show a password."""
    chosen: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if sep and "://" not in name:
            if name not in apis:
                raise ValueError(f"--upstream {name}=...: not an API served here (served: {', '.join(apis)})")
            targets, url = [name], rest
        else:
            targets, url = list(apis), value
        _check_url(url)
        for api in targets:
            if api in chosen and chosen[api] != url:
                raise ValueError(f"--upstream given twice for {api}")
            chosen[api] = url
    return tuple((api, chosen[api]) for api in apis if api in chosen)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--upstream {redact_url(url)!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise ValueError(f"--upstream {redact_url(url)!r}: a base URL takes no query or fragment")
