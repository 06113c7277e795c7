"""The requests behind a failure, in order: what each sent (credentials left out, only whose
key), what came back and what was expected, and which values a request took from an earlier
answer (an id, a cursor). A report shows them as numbered steps and as a shell script that
sends them again with the keys taken from the environment; `replay` sends them again and
judges the answer as the failure recorded how (`Verdict`).

Every text here is redacted when the trail is made; bodies are kept whole (bounded by what
the suite sends), answers shown cut."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote

from specs.auth import scheme_of
from specs.redact import Redactor, is_secret_name
from specs.text import shorten

from .settings import BY_NAME

if TYPE_CHECKING:
    from .target import Exchange

ANSWER = 300  # characters of an answer shown per step
SHOWN = 300  # characters of a request body shown per step (the script has it whole)
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")
# Where an answer hands out a value a later request may use: ids and cursors.
_GIVEN = ("id", "nextCursor")


@dataclass(frozen=True)
class Use:
    """A value in a request that an earlier answer gave: replayed, the new answer's value."""

    value: str  # as the request carried it (decoded)
    step: int  # the step whose answer gave it
    pointer: str  # a JSON pointer into that answer, e.g. /id or /pagination/nextCursor


@dataclass(frozen=True)
class Sent:
    """One numbered step: the request as it went (whose key, never the key), the answer."""

    number: int
    credential: str  # main, other, readonly or none (contracts.target.Credential)
    method: str
    path: str  # as sent: percent-encoded, without the query
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # without credentials and transport noise
    body: str | None = None  # the body as sent
    status: int | None = None
    answer: str = ""  # what came back, redacted and cut
    expected: str = ""  # what was expected of this answer
    uses: tuple[Use, ...] = ()
    action: dict[str, Any] | None = None  # the model family's action: replay runs the model again
    fingerprint: str | None = None  # the answer with ids, cursors, times and URLs masked, hashed

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "credential": self.credential,
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "headers": dict(self.headers),
            "body": self.body,
            "status": self.status,
            "answer": self.answer,
            "expected": self.expected,
            "uses": [{"value": u.value, "step": u.step, "pointer": u.pointer} for u in self.uses],
            "action": self.action,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sent:
        return cls(
            number=int(data["number"]),
            credential=str(data["credential"]),
            method=str(data["method"]),
            path=str(data["path"]),
            query=tuple((str(k), str(v)) for k, v in data.get("query") or []),
            headers=tuple((str(k), str(v)) for k, v in (data.get("headers") or {}).items()),
            body=data.get("body"),
            status=data.get("status"),
            answer=str(data.get("answer") or ""),
            expected=str(data.get("expected") or ""),
            uses=tuple(Use(str(u["value"]), int(u["step"]), str(u["pointer"])) for u in data.get("uses") or []),
            action=data.get("action"),
            fingerprint=data.get("fingerprint"),
        )


@dataclass(frozen=True)
class Verdict:
    """How `replay` tells whether the failure still happens: `model` runs the model family
    over the same actions (the same check must fail again); `status` wants the last answer's
    status among `allowed`; `server_error` wants no 5xx; `answer` compares the last answer
    with the failing one (the same answer: still failing)."""

    by: str
    allowed: tuple[str, ...] = ()
    api: str = ""
    check: str = ""
    writable: str | None = None  # the model family's systemprompt.io conversation

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"by": self.by, "api": self.api, "check": self.check}
        if self.allowed:
            data["allowed"] = list(self.allowed)
        if self.writable:
            data["writable"] = self.writable
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            str(data.get("by", "answer")),
            tuple(str(s) for s in data.get("allowed") or ()),
            str(data.get("api", "")),
            str(data.get("check", "")),
            data.get("writable"),
        )


@dataclass(frozen=True)
class Trail:
    steps: tuple[Sent, ...]
    verdict: Verdict
    script: str = ""

    def numbered(self) -> str:
        """The steps as a reader follows them: request, answer, what was expected."""
        lines: list[str] = []
        for step in self.steps:
            query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in step.query)
            target = step.path + (f"?{query}" if query else "")
            body = f" {shorten(step.body, SHOWN)}" if step.body else ""
            # Each line starts with a word of ours: no text of the server's can pass for a step.
            lines.append(f"{step.number}. {step.credential} key: {step.method} {target}{body}")
            lines.append(f"answer:   {step.answer}")
            if step.expected:
                lines.append(f"expected: {step.expected}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {"steps": [s.as_json() for s in self.steps], "verdict": self.verdict.as_json(), "script": self.script}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trail:
        return cls(
            tuple(Sent.from_json(s) for s in data.get("steps") or []),
            Verdict.from_json(data.get("verdict") or {}),
            str(data.get("script") or ""),
        )


# --- from exchanges -----------------------------------------------------------------------------


def given(answer: Any) -> Iterator[tuple[str, str]]:
    """(value, JSON pointer) of every id and cursor an answer hands out."""

    def walk(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{pointer}/{_escape(str(key))}"
                if key in _GIVEN and isinstance(value, str) and value:
                    yield value, here
                else:
                    yield from walk(value, here)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{pointer}/{index}")

    yield from walk(answer, "")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def resolve(answer: Any, pointer: str) -> Any:
    """The value at a JSON pointer, or None."""
    node = answer
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return None
    return node


def carried(path: str, query: Sequence[tuple[str, str]], body: Any) -> list[str]:
    """The values a request carries where an earlier answer's may go: path segments, query
    values, and strings in its JSON body."""
    values = [unquote(segment) for segment in path.split("/") if segment]
    values += [value for _, value in query]

    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)

    return values + list(strings(body))


@dataclass
class Recorded:
    """One exchange as a check's trail keeps it, before a failure makes steps of some."""

    credential: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: str | None
    body_json: Any
    status: int | None
    answer: Any  # the parsed JSON answer (None when there is none)
    answer_text: str  # shown, redacted and cut
    uses: list[Use] = field(default_factory=list)


def record_of(credential: str, exchange: Exchange, shown: str) -> Recorded:
    """One exchange for a check's trail. A credential sent as an explicit header (a malformed
    one, on purpose) is not recorded: such a step is `custom`, and cannot be sent again."""
    request, response = exchange.request, exchange.response
    pairs = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers.raw]
    custom = credential == "none" and any(is_secret_name(n) for n, _ in pairs)
    body = request.content.decode("utf-8", errors="replace") if request.content else None
    try:
        answer = response.json() if response is not None else None
    except ValueError:
        answer = None
    return Recorded(
        credential="custom" if custom else credential,
        method=request.method,
        path=request.url.raw_path.decode("ascii", errors="replace").partition("?")[0],
        query=tuple(parse_qsl(request.url.query.decode("ascii", errors="replace"), keep_blank_values=True)),
        headers=plain_headers(pairs),
        body=body,
        body_json=parse_json(body),
        status=response.status_code if response is not None else None,
        answer=answer,
        answer_text=shown,
    )


def parse_json(text: str | None) -> Any:
    """A recorded body as JSON, None when it is none."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def needed(records: Sequence[Recorded], also: Iterable[int] = ()) -> list[int]:
    """The indices of the records the last one (and `also`) depend on: those whose answers
    gave a value it (or one needed) carries, and those that carried the same value before it
    (a delete of the id a failing get reads). Everything else the check sent is left out."""
    if not records:
        return []
    chosen = {len(records) - 1, *also}
    pending = list(chosen)
    # Only values some answer handed out link requests (not "v1", not a shared title).
    handed = {value for record in records for value, _ in given(record.answer)}
    while pending:
        index = pending.pop()
        record = records[index]
        for value in set(carried(record.path, record.query, record.body_json)) & handed:
            for earlier in range(index):
                gave = any(v == value for v, _ in given(records[earlier].answer))
                touched = value in carried(records[earlier].path, records[earlier].query, records[earlier].body_json)
                if (gave or touched) and earlier not in chosen:
                    chosen.add(earlier)
                    pending.append(earlier)
    return sorted(chosen)


def uses_of(records: Sequence[Recorded]) -> list[tuple[Use, ...]]:
    """For each record, the values it carries that an earlier record's answer gave (the
    first that did: the create that made an id, not a later update that echoed it), with
    where in that answer."""
    found: list[tuple[Use, ...]] = []
    for index, record in enumerate(records):
        uses = []
        for value in dict.fromkeys(carried(record.path, record.query, record.body_json)):
            for earlier in range(index):
                pointer = next((p for v, p in given(records[earlier].answer) if v == value), None)
                if pointer is not None:
                    uses.append(Use(value, earlier + 1, pointer))
                    break
        found.append(tuple(uses))
    return found


def steps_of(
    records: Sequence[Recorded],
    expected: Sequence[str] | str,
    redact: Redactor,
    *,
    whole: bool = False,
    also: Iterable[int] = (),
) -> tuple[Sent, ...]:
    """Numbered steps: the records the last one (and `also`) need, all of them when `whole`;
    what was expected of each (`expected` a list), or of the last one only (a text). Each
    answer is fingerprinted (`replay` compares them)."""
    picked = list(records) if whole else [records[i] for i in needed(records, also)]
    expectations = list(expected) if not isinstance(expected, str) else [""] * (len(picked) - 1) + [expected]
    steps: list[Sent] = []
    known = known_before([r.answer for r in picked])
    for number, (record, uses, wanted) in enumerate(zip(picked, uses_of(picked), expectations, strict=True), 1):
        steps.append(
            Sent(
                number=number,
                credential=record.credential,
                method=record.method,
                path=record.path,
                query=record.query,
                headers=record.headers,
                body=redact(record.body) if record.body is not None else None,
                status=record.status,
                answer=redact.excerpt(record.answer_text, ANSWER),
                expected=redact.excerpt(wanted, 600),
                uses=uses,
                fingerprint=fingerprint(record.answer, known[number - 1]),
            )
        )
    return tuple(steps)


def fingerprint(answer: Any, known: Iterable[str] = ()) -> str:
    """The answer with what changes from run to run left out, hashed: the same failing answer,
    the same print. Ids and cursors, timestamps and URLs are masked; a list keeps only the
    items this trail made or was given before (`known`), not what else the tenant holds."""
    known = {k for k in known if len(k) >= 4}  # a value that short could be any text's part

    def mask(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: mask(v, k) for k, v in sorted(node.items())}
        if isinstance(node, list):
            items = [v for v in node if not (isinstance(v, dict) and "id" in v and v["id"] not in known)]
            return [mask(v) for v in items]
        if isinstance(node, str) and (key in _GIVEN or _STAMP.match(node) or node.startswith(("http://", "https://"))):
            return "*"
        if isinstance(node, str):  # an id inside a message ("conversation 'conv_1' not found")
            for value in known:
                node = node.replace(value, "*")
        return node

    text = json.dumps(mask(answer), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def known_before(answers: Sequence[Any]) -> list[set[str]]:
    """For each step, the ids and cursors the answers before it gave."""
    found: list[set[str]] = []
    seen: set[str] = set()
    for answer in answers:
        found.append(set(seen))
        seen |= {value for value, _ in given(answer)}
    return found


def plain_headers(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The headers a step records: none that carries a credential, none of the transport's."""
    noise = {"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"}
    return tuple((n, v) for n, v in pairs if n.lower() not in noise and not is_secret_name(n))


# --- the reproduction script ---------------------------------------------------------------------

# The environment variables a script reads: the suite's own settings' names.
ENV = {
    "base_url": BY_NAME["base_url"].env,
    "main": BY_NAME["api_key"].env,
    "other": BY_NAME["other_key"].env,
    "readonly": BY_NAME["readonly_key"].env,
}
_PICK = (
    "pick() { python3 -c 'import functools, json, sys, urllib.parse as u; "
    "v = functools.reduce(lambda n, p: n[int(p)] if isinstance(n, list) "
    'else n[p.replace("~1", "/").replace("~0", "~")], sys.argv[1].split("/")[1:], json.load(sys.stdin)); '
    'print(u.quote(str(v), safe=""))\' "$1"; }'
)


def script(api: str, title: str, steps: Sequence[Sent], env: dict[str, str] | None = None) -> str:
    """A POSIX shell script that sends the steps again: each answer printed, each value a
    later step needs taken from the answer that gave it (python3 reads the JSON). The keys
    are environment variables, never written here."""
    names = {**ENV, **(env or {})}
    used = sorted({s.credential for s in steps if s.credential in names})
    needs = ["base_url", *used]
    lines = [
        "#!/bin/sh",
        f"# convo-contracts reproduction: {_comment(title)}",
        "# Sends the failing sequence again and prints each answer; needs curl and python3.",
        "# The keys are read from the environment, never written here.",
        "set -eu",
        *(f': "${{{names[n]}:?set {names[n]}}}"' for n in needs),
        _PICK,
    ]
    for step in steps:
        lines += [
            "",
            f"# {step.number}. {step.credential} key: {step.method} {_comment(step.path)} (answered {step.status})",
        ]
        if step.expected:
            lines.append(f"# expected: {_comment(step.expected)}")
        lines.append(_curl(api, step, names))
        lines.append(f"printf '%s\\n' \"$r{step.number}\"")
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    return shorten(" ".join(text.split()), 200)


def _from(use: Use) -> str:
    return f'"$(printf \'%s\' "$r{use.step}" | pick {shlex.quote(use.pointer)})"'


def _curl(api: str, step: Sent, names: dict[str, str]) -> str:
    by_value = {u.value: u for u in step.uses}
    segments = []
    for segment in step.path.split("/"):
        use = by_value.get(unquote(segment)) if segment else None
        segments.append(_from(use) if use else _quoted(segment))
    url = '"${' + names["base_url"] + '}"' + "/".join(segments)
    if step.query:
        pairs = []
        for key, value in step.query:
            use = by_value.get(value)
            shown = _from(use) if use else _quoted(quote(value, safe=""))
            pairs.append(_quoted(quote(key, safe="")) + "=" + shown)
        url += "'?'" + "'&'".join(pairs)
    parts = ["curl", "-sS", "-X", shlex.quote(step.method), url]
    if step.credential in names and step.credential != "base_url":
        for name, value in scheme_of(api).headers("\0").items():
            shown = value.replace("\0", "${" + names[step.credential] + "}")
            parts += ["-H", '"' + f"{name}: {shown}".replace('"', '\\"') + '"']
    for name, value in step.headers:
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if step.body is None:
        return f"r{step.number}=$(" + " ".join(parts) + ")"
    # The body byte for byte (no heredoc's added line break), quoted for the shell.
    parts += ["--data-binary", "@-"]
    return f"r{step.number}=$(printf '%s' {shlex.quote(step.body)} | " + " ".join(parts) + ")"


def _quoted(text: str) -> str:
    """Single-quoted for the shell (an empty text stays empty)."""
    return shlex.quote(text) if text else ""
