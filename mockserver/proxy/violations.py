"""What the validation proxy saw break the spec, and where in the spec each rule is written.

A violation names the operation, the direction (request or response), a JSON pointer into
the spec file as written (`$ref`s followed, so the pointer opens on the line that holds the
rule), the rule, the offending value (redacted, then shortened) and the journal entry of
the request it belongs to (`requestId`). The behaviour monitor's also name the earlier
exchanges they rest on (`restsOn`); an observation (`kind`) is another choice where the
documentation leaves one open, or a contradiction an unseen write could explain: listed
beside the violations, never counted with them.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

import orjson

import specs
from specs import Operation
from specs.auth import scheme_of
from specs.curl import curl_line
from specs.redact import Redactor
from specs.text import ELLIPSIS, printable, shorten

from .exchange import Exchange, Finding

# Every field a stranger's text can reach is cut (characters), so that a violation stays
# small whatever the request was; docs/proxy.md states the bound they give.
VALUE_LIMIT = 200
MESSAGE_LIMIT = 500
PATH_LIMIT = 200
METHOD_LIMIT = 40
POINTER_LIMIT = 500
# In the curl line: the path before percent-encoding, the raw query, the body; each of its two
# headers is cut to 500 by specs/curl.py.
CURL_PATH_LIMIT = 200
CURL_QUERY_LIMIT = 500
CURL_BODY_LIMIT = 500
# Rows of the summary (operation × direction × rule; an unknown operation's path may carry
# ids, so past the cap they share one row) and the first example kept of each distinct failure
# (a rule at a pointer), for the reports.
MAX_ROWS = 10_000
MAX_EXAMPLES = 2_000
# Characters left as they are when a path is written into a curl line (RFC 3986 pchar and "/").
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
logger = logging.getLogger("mockserver.proxy.violations")


@dataclass(frozen=True)
class Violation:
    api: str
    operation_id: str | None  # None: an operation the spec does not know
    method: str
    path: str  # the spec's path template, or the request's path for an unknown operation
    direction: str  # "request" | "response"
    pointer: str  # e.g. runtype.yaml#/components/schemas/Title/maxLength
    rule: str  # the JSON Schema keyword, or status / contentType / json / header / unknownOperation
    message: str
    value: str  # the offending value as JSON, redacted and shortened
    request_id: int  # the journal entry's requestId
    curl: str  # the request, credentials redacted
    observation: bool = False  # not proof of a broken rule: see the module's docstring
    rests_on: tuple[int, ...] = ()  # the requestIds of the earlier exchanges it rests on

    @property
    def kind(self) -> str:
        return "observation" if self.observation else "violation"

    @property
    def operation(self) -> str:
        return f"{self.api} {self.operation_id or f'{self.method} {self.path} (unknown operation)'}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            "api": data["api"],
            "operationId": data["operation_id"],
            "method": data["method"],
            "path": data["path"],
            "direction": data["direction"],
            "specPointer": data["pointer"],
            "rule": data["rule"],
            "message": data["message"],
            "value": data["value"],
            "requestId": data["request_id"],
            "curl": data["curl"],
            "kind": self.kind,
            "restsOn": list(self.rests_on),
        }

    def line(self, number: int) -> str:
        """The console line: one per violation (or observation), numbered by its own count
        (`violation 4`, the fourth one seen) beside the request it was found in (the journal's
        requestId), inert on a terminal (control characters escaped)."""
        rests = f" (rests on request {', '.join(f'#{i}' for i in self.rests_on)})" if self.rests_on else ""
        return printable(
            f"{self.kind} {number} (request #{self.request_id}) {self.operation} {self.direction}: "
            f"{self.message}{rests} [{self.rule} at {self.pointer}] value={self.value}"
        )


def violations_of(exchange: Exchange, found: Iterable[tuple[str, Finding]], redactor: Redactor) -> list[Violation]:
    """An exchange's findings (with their direction) as violations: every field redacted,
    then cut to its limit; the curl line is the exchange's request."""
    operation = exchange.checks.operation if exchange.checks else None
    curl = curl_of(exchange, redactor)
    return [
        Violation(
            api=exchange.api,
            operation_id=operation.operation_id if operation else None,
            method=operation.method if operation else shorten(exchange.method, METHOD_LIMIT),
            path=operation.path if operation else cut(exchange.path, PATH_LIMIT, redactor),
            direction=direction,
            pointer=cut(finding.pointer, POINTER_LIMIT, redactor),
            rule=finding.rule,
            message=cut(finding.message, MESSAGE_LIMIT, redactor),
            value=excerpt(finding.value, redactor),
            request_id=exchange.request_id,
            curl=curl,
            observation=finding.observation,
            rests_on=finding.rests_on,
        )
        for direction, finding in found
    ]


def curl_of(exchange: Exchange, redactor: Redactor) -> str:
    """The exchange's request as a curl line: its content type and credential header
    (redacted); path, query and body cut shorter than `curl_line` would, as a record keeps
    thousands of them."""
    host = exchange.headers.get("host", "localhost")
    path = quote(cut(exchange.path, CURL_PATH_LIMIT, redactor), safe=_PATH_SAFE)
    query = exchange.query_string.decode("latin-1")
    if len(query) > CURL_QUERY_LIMIT:
        # Whole parameters only: a value cut in half is no longer a secret a redactor knows.
        query = query[:CURL_QUERY_LIMIT].rpartition("&")[0]
    query = redactor.query(query)
    url = f"{exchange.scheme}://{host}{path}" + (f"?{query}" if query else "")
    names = ("content-type", scheme_of(exchange.api).header_key)
    shown = [(name, exchange.headers[name]) for name in names if name in exchange.headers]
    return curl_line(exchange.method, url, shown, _body(exchange.body, redactor), redactor)


def _body(body: bytes | None, redactor: Redactor) -> bytes | str | None:
    """A body as the curl line shows it: short ones as sent (curl_line redacts them); long
    ones redacted while parsed (no JSON escape hides a key), then cut."""
    if body is None or len(body) <= CURL_BODY_LIMIT:
        return body
    try:
        text = orjson.dumps(redactor.json(orjson.loads(body))).decode()
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace")
    return cut(text, CURL_BODY_LIMIT, redactor)


def excerpt(value: Any, redactor: Redactor) -> str:
    """An offending value for the record: JSON, redacted, then shortened."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return cut(text, VALUE_LIMIT, redactor)


def cut(text: str, limit: int, redactor: Redactor) -> str:
    """`text` redacted, then shortened to `limit` characters. A long text is read only as far
    as can be shown: cut first (twice the limit), the start of a secret at that cut dropped
    (`Redactor.prefix`), so that a 60 KB path costs what its excerpt does."""
    if len(text) <= 2 * limit:
        return redactor.excerpt(text, limit)
    return shorten(redactor.prefix(text[: 2 * limit]) + ELLIPSIS, limit)


Count = Counter[tuple[str, str, str, str, str, str | None]]
Examples = dict[tuple[str, str, str, str, str, str | None, str], tuple[Violation, int]]


class ViolationLog:
    """The latest violations and observations (bounded, together) and the count of every one
    ever seen (per operation × rule), violations and observations apart."""

    def __init__(self, size: int = 1000, redactor: Callable[[], Redactor] | None = None) -> None:
        # Violations are redacted when recorded; reads redact them again with every credential
        # known by then (a key the upstream echoed before its owner first sent it).
        self._redactor = redactor
        self.entries: deque[Violation] = deque(maxlen=size)
        self.counts: Count = Counter()
        self.examples: Examples = {}
        self.observed: Count = Counter()
        self.observed_examples: Examples = {}
        # How many of each were seen: the number on each one's console line.
        self._seen = {False: 0, True: 0}

    def record(self, violations: Iterable[Violation]) -> None:
        for v in violations:
            self.entries.append(v)
            counts, examples = self.counts, self.examples
            if v.observation:
                counts, examples = self.observed, self.observed_examples
            key = (v.api, v.method, v.path, v.direction, v.rule, v.operation_id)
            if key not in counts and len(counts) >= MAX_ROWS:
                key = (v.api, v.method, "(other paths)", v.direction, v.rule, v.operation_id)
            counts[key] += 1
            group = (*key, v.pointer)
            if group in examples:
                first, count = examples[group]
                examples[group] = (first, count + 1)
            elif len(examples) < MAX_EXAMPLES:
                examples[group] = (v, 1)
            self._seen[v.observation] += 1
            if logger.isEnabledFor(logging.WARNING):
                logger.warning("%s", v.line(self._seen[v.observation]))

    @property
    def total(self) -> int:
        """Violations seen (observations are not counted: they are not proof)."""
        return sum(self.counts.values())

    @property
    def observed_total(self) -> int:
        return sum(self.observed.values())

    def clear(self) -> None:
        self.entries.clear()
        self.counts.clear()
        self.examples.clear()
        self.observed.clear()
        self.observed_examples.clear()
        self._seen = {False: 0, True: 0}

    def read(self) -> dict[str, Any]:
        data = {
            "total": self.total,
            "summary": self.summary(),
            "violations": [v.as_dict() for v in self.entries],
        }
        return self._redactor().json(data) if self._redactor is not None else data

    def summary(self) -> list[dict[str, Any]]:
        """One row per operation × direction × rule, violations first, most frequent first."""
        rows = [
            {
                "api": api,
                "operationId": operation_id,
                "method": method,
                "path": path,
                "direction": direction,
                "rule": rule,
                "count": count,
                "kind": kind,
            }
            for kind, counts in (("violation", self.counts), ("observation", self.observed))
            for (api, method, path, direction, rule, operation_id), count in counts.items()
        ]
        return sorted(
            rows, key=lambda r: (r["kind"] != "violation", -r["count"], r["api"], r["path"], r["method"], r["rule"])
        )

    def table(self) -> str:
        """The shutdown summary for people: operation × rule × count (observations marked)."""
        rows = [
            (
                printable(f"{r['api']} {r['operationId'] or r['method'] + ' ' + r['path']}"),
                f"{r['direction']} {r['rule']}" + (" (observation)" if r["kind"] == "observation" else ""),
                r["count"],
            )
            for r in self.summary()
        ]
        head = ("operation", "rule", "count")
        width0 = max(len(head[0]), *(len(r[0]) for r in rows))
        width1 = max(len(head[1]), *(len(r[1]) for r in rows))
        lines = [f"{head[0]:<{width0}}  {head[1]:<{width1}}  {head[2]:>5}"]
        lines += [f"{a:<{width0}}  {b:<{width1}}  {c:>5}" for a, b, c in rows]
        return "\n".join(lines)


# --- where a rule is written ---------------------------------------------------------------


def pointer(api: str, parts: Sequence[str | int]) -> str:
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return f"{api}.yaml#/" + "/".join(escaped)


def operation_parts(operation: Operation) -> tuple[str, ...]:
    return ("paths", operation.path, operation.method.lower())


def in_spec(api: str, base: Sequence[str | int], schema_path: Sequence[str | int] = ()) -> str:
    """The pointer to `schema_path` under `base` in the spec as written: wherever a step
    meets a `$ref`, the pointer continues in the referenced component."""
    node: Any = specs.load(api).content
    parts: list[str | int] = []
    for part in (*base, *schema_path):
        while isinstance(node, dict) and "$ref" in node and part not in node:
            ref = str(node["$ref"])
            parts = [p.replace("~1", "/").replace("~0", "~") for p in ref.removeprefix("#/").split("/")]
            node = specs.load(api).content
            for step in parts:
                node = node[step]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            # A keyword the validator reports that the text does not hold (e.g. a default
            # format check): stop at the last step that exists.
            break
        parts.append(part)
    return pointer(api, parts)


@functools.cache
def parameter_parts(api: str, path: str, method: str, name: str) -> tuple[str | int, ...]:
    """Where parameter `name` is declared: on the operation, else on its path item."""
    item = specs.load(api).content["paths"][path]
    for base, declared in (((path, method), item[method].get("parameters", [])), ((path,), item.get("parameters", []))):
        for index, param in enumerate(declared):
            if _resolved_name(api, param) == name:
                return ("paths", *base, "parameters", index)
    return ("paths", path, method)


def _resolved_name(api: str, param: dict[str, Any]) -> str | None:
    if "$ref" in param:
        node: Any = specs.load(api).content
        for step in str(param["$ref"]).removeprefix("#/").split("/"):
            node = node[step.replace("~1", "/").replace("~0", "~")]
        param = node
    name = param.get("name")
    return str(name) if name is not None else None
