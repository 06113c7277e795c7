"""What a sequence is made of: an `Action` (what a rule asks for, in data, so a report can
carry it and `replay` can run it again), the `Request` the model turns it into, the
`Answer`, and the recorded `Step`. A `Problem` is one check's finding on a step."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from specs.text import shorten

TENANTS = ("main", "other")  # whose key sends: the run's key, or --other-key
EXCERPT = 600


@dataclass(frozen=True)
class Action:
    """One step of a sequence, as data. Ids the server gives are not in it: `handle` names a
    conversation by the create that made it, `follow` the next page of the tenant's walk, and
    `listed` one the tenant's lists showed, so the same actions can run again elsewhere."""

    op: str  # the spec's operationId
    tenant: str  # who sends: "main" or "other"
    handle: int | None = None  # a conversation of this sequence, by its create
    uuid: str | None = None  # an existing conversation (systemprompt.io), as spelled in the path
    listed: int | None = None  # the n-th conversation this tenant's lists showed (wraps)
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    follow: bool = False  # the next page of this tenant's open walk
    # Sent more than RESOLUTION after the addressed conversation's updatedAt was first seen
    # (waiting if need be): an update's standing stamp is then proof (rule 3).
    late: bool = False

    def to_json(self) -> dict[str, Any]:
        """Its fields, those at their defaults left out (0 is a handle, not a default)."""
        defaults: dict[str, Any] = {
            "handle": None,
            "uuid": None,
            "listed": None,
            "params": {},
            "body": None,
            "follow": False,
            "late": False,
        }
        return {k: v for k, v in asdict(self).items() if k not in defaults or not _same_default(v, defaults[k])}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _same_default(value: Any, default: Any) -> bool:
    return value is None if default is None else type(value) is type(default) and value == default


@dataclass(frozen=True)
class Request:
    op: str
    method: str
    path: str  # concrete, ids percent-encoded
    tenant: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False


@dataclass
class Answer:
    status: int | None
    body: Any  # the parsed JSON, None when there is none or it is not JSON
    text: str  # the raw body, cut
    content_type: str | None
    error: str | None  # why there is no answer
    sent: float  # monotonic, before the request left
    received: float  # monotonic, after the answer was read

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def lost(self) -> bool:
        """No answer or a server error: whether the request took effect is unknown."""
        return self.status is None or self.status >= 500

    def shown(self) -> str:
        if self.status is None:
            return f"no answer: {self.error}"
        body = dumps(self.body) if self.body is not None else self.text
        return shorten(f"{self.status} {body}".rstrip(), EXCERPT)


@dataclass(frozen=True)
class Problem:
    check: str  # a name in CHECKS
    expected: str  # what the model expected, and why
    observation: bool = False  # another allowed choice: noted, not a failure


@dataclass
class Step:
    number: int
    action: Action
    request: Request
    answer: Answer
    expected: str = ""  # the model's prediction, in words
    problems: list[Problem] = field(default_factory=list)
    exchange: Any = None  # the target.Exchange, for evidence (not serialised)


CheckFunction = TypeVar("CheckFunction", bound=Callable[..., Any])


def judges(*operation_ids: str) -> Callable[[CheckFunction], CheckFunction]:
    """The operations whose answers a check judges (its outcomes are theirs); none: every one."""

    def mark(check: CheckFunction) -> CheckFunction:
        check.ops = operation_ids  # type: ignore[attr-defined]
        return check

    return mark


def judged_operations(check: Callable[..., Any]) -> tuple[str, ...] | None:
    found: tuple[str, ...] | None = getattr(check, "ops", None) or None
    return found


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def show(value: Any, limit: int = 120) -> str:
    """A value for a sentence: JSON, cut."""
    return shorten(dumps(value), limit)


def diff_text(expected: dict[str, Any], got: dict[str, Any], fields: list[str], limit: int = 120) -> str:
    """What each field should be and what it is, for a problem's text."""
    return "; ".join(f"{f}: expected {show(expected.get(f), limit)}, got {show(got.get(f), limit)}" for f in fields)


def same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (1 == 1.0), but a boolean is not a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def merged(old: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    return {**old, **sent}


def merge_patched(old: Any, patch: Any) -> Any:
    """RFC 7396: objects merged recursively, a null removes the key."""
    if not isinstance(patch, dict):
        return patch
    result = dict(old) if isinstance(old, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patched(result.get(key), value)
    return result


def covers(stored: Any, sent: Any) -> bool:
    """Whether a stored value shows what was sent, by any allowed choice (rule 17): as sent,
    or merged into what it was before as a JSON merge patch (an object's sent keys stored
    the same way, its sent nulls removed or kept). Judged without knowing what it was."""
    if not isinstance(sent, dict):
        return same(stored, sent)
    return isinstance(stored, dict) and all(
        value is None or (key in stored and covers(stored[key], value)) for key, value in sent.items()
    )


def metadata_choices(old: dict[str, Any] | None, sent: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """What a metadata update may leave, by the choice the server made where the docs are
    silent (rule 17): the sent object whole, merged key by key, or merged as a JSON merge
    patch. Without the old value only the sent keys can be judged (None)."""
    if old is None:
        return []
    return [
        ("replaced whole", sent),
        ("merged key by key", merged(old, sent)),
        ("merged as a JSON merge patch", merge_patched(old, sent)),
    ]
