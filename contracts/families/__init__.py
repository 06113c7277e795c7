"""The check families. A family is a module (or package) here, named as in
`contracts.settings.FAMILIES`, with two lists the runner reads and nothing else:

- `CHECKS`: small named functions `check(ctx)`, in the order they run;
- `READ_ONLY_CHECKS`: those of them that still apply under --read-only (every request they
  send is a read; `Context.send` refuses a write anyway).

A check that applies to some APIs only is registered with `only_for`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Protocol

import specs

if TYPE_CHECKING:
    from ..context import Context

Check = Callable[["Context"], None]

_APIS: dict[Check, frozenset[str]] = {}


def only_for(*apis: str) -> Callable[[Check], Check]:
    """Mark a check as one of these APIs' only: the runner leaves it out for the others."""
    unknown = set(apis) - set(specs.API_NAMES)
    if unknown:
        raise ValueError(f"no such API: {', '.join(sorted(unknown))}")

    def mark(check: Check) -> Check:
        _APIS[check] = frozenset(apis)
        return check

    return mark


def applies(check: Check, api: str) -> bool:
    return api in _APIS.get(check, frozenset(specs.API_NAMES))


class Family(Protocol):
    """What the runner reads from a family's module."""

    CHECKS: Sequence[Check]
    READ_ONLY_CHECKS: Collection[Check]


__all__ = ["Check", "Family", "applies", "only_for"]
