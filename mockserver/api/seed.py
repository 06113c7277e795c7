"""Seed data: the built-in demo data, seed files, and the checks that keep bad data out.

A seed file, a `--state-file` and `PUT /__mock__/state` share one format:
`{"tenants": {"<api key>": {"runtype": [...], "systemprompt": [...]}}}`. Entries may omit
what the mock can fill in (ids, timestamps, defaults); what they do carry is checked against
the spec's response schemas, so the mock can never serve data its own spec forbids.
"""

from __future__ import annotations

import copy
import json
import math
import secrets
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

import specs
from specs.text import shorten

from .auth import check_key_text
from .body import INT_RANGE
from .runtype_fields import runtype_fields
from .store import Clock, parse_timestamp
from .validation import json_path

DOCUMENTED_UUID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
_NAMESPACE = uuid.UUID("6f1c1a2e-63a4-4a55-9c3e-6d6f636b0001")


class SeedError(ValueError):
    """Seed data that does not fit the format; the message names the entry and field."""


def runtype_create_defaults() -> dict[str, Any]:
    """The documented defaults of create, read from the spec. Shared: copy before mutating."""
    return runtype_fields().create_defaults


def read_seed_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SeedError(f"seed file {path} is not UTF-8 text") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SeedError(
            f"seed file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    return data  # type: ignore[no-any-return]


def normalize(data: Any, clock: Clock, max_depth: int) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Check seed/state data and fill in what entries may omit; raise SeedError naming the problem.

    Beyond the spec's schemas, entries must be what the mock can keep serving and saving:
    plain JSON (string keys, 64-bit integers, finite numbers) nested at most `max_depth`
    levels, as a request body must be, and timestamps the clock can run on from.
    """
    if not isinstance(data, dict) or not isinstance(data.get("tenants"), dict):
        raise SeedError(
            'seed data must be an object {"tenants": {"<api key>": {"runtype": [...], "systemprompt": [...]}}}'
        )
    runtype_schema = jsonschema_rs.Draft202012Validator(specs.load("runtype").schema("Conversation"))
    systemprompt_schema = jsonschema_rs.Draft202012Validator(
        specs.load("systemprompt").schema("Conversation"), validate_formats=True
    )
    defaults = runtype_create_defaults()
    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for tenant, content in data["tenants"].items():
        # Never echo the tenant name: it is an API key.
        where = f"tenant #{len(result) + 1}"
        try:
            check_key_text(tenant if isinstance(tenant, str) else "", f"{where}: its key")
        except ValueError as exc:
            raise SeedError(str(exc)) from None
        if not isinstance(content, dict) or set(content) - {"runtype", "systemprompt"}:
            raise SeedError(f'{where}: expected an object with "runtype" and/or "systemprompt" lists')
        runtype, systemprompt = content.get("runtype", []), content.get("systemprompt", [])
        if not isinstance(runtype, list) or not isinstance(systemprompt, list):
            raise SeedError(f'{where}: "runtype" and "systemprompt" must be lists')
        result[tenant] = {
            "runtype": _unique(
                [
                    _runtype_entry(item, defaults, clock, runtype_schema, f"{where} runtype[{i}]", max_depth)
                    for i, item in enumerate(runtype)
                ],
                f"{where} runtype",
            ),
            "systemprompt": _unique(
                [
                    _systemprompt_entry(item, systemprompt_schema, f"{where} systemprompt[{i}]", max_depth)
                    for i, item in enumerate(systemprompt)
                ],
                f"{where} systemprompt",
            ),
        }
    return result


def _runtype_entry(
    item: Any, defaults: dict[str, Any], clock: Clock, schema: Any, where: str, max_depth: int
) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise SeedError(f"{where}: expected an object")
    _plain(item, max_depth, where)
    # Omitted fields: null where the spec allows it, empty lists, the documented defaults.
    entry = {**copy.deepcopy(runtype_fields().seed_defaults), **defaults, **item}
    entry.setdefault("id", f"conv_{secrets.token_hex(12)}")
    if isinstance(entry["id"], str) and (entry["id"] in ("", ".", "..") or "/" in entry["id"]):
        # The id is a path segment of get, update and delete: such a conversation could never be reached.
        raise SeedError(f"{where}.id: must be a non-empty path segment (no '/', not '.' or '..')")
    entry.setdefault("createdAt", clock.now())
    entry.setdefault("updatedAt", entry["createdAt"])
    _check(schema, entry, where)
    _timestamps(entry, where)
    for name in runtype_fields().hidden:
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise SeedError(f"{where}.{name}: must be a string")
    return entry


def _systemprompt_entry(item: Any, schema: Any, where: str, max_depth: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise SeedError(f"{where}: expected an object")
    _plain(item, max_depth, where)
    entry = {"message": [], "metadata": {}, **item}
    entry.setdefault("id", str(uuid.uuid4()))
    entry.pop("_link", None)  # derived from the request's host when served
    _check(schema, {**entry, "_link": ""}, where)
    entry["id"] = str(uuid.UUID(entry["id"]))  # the canonical lower-case form the routes look up
    return entry


def _plain(entry: dict[str, Any], max_depth: int, where: str) -> None:
    """Refuse what orjson could not write back (or the mock could not serve) later: non-JSON
    values (YAML dates, sets), non-string keys, integers past 64 bits, NaN and infinities,
    and nesting deeper than a request body may have."""
    stack: list[tuple[Any, str, int]] = [(entry, "", 1)]
    while stack:
        value, path, level = stack.pop()
        if isinstance(value, dict):
            if level > max_depth:
                raise SeedError(f"{where}{path}: nested more than {max_depth} levels deep")
            for key, child in value.items():
                if not isinstance(key, str):
                    raise SeedError(f"{where}{path}: key {shorten(repr(key), 40)} is not a string")
                stack.append((child, f"{path}.{key}", level + 1))
        elif isinstance(value, list):
            if level > max_depth:
                raise SeedError(f"{where}{path}: nested more than {max_depth} levels deep")
            stack.extend((child, f"{path}[{i}]", level + 1) for i, child in enumerate(value))
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        elif isinstance(value, int):
            if not INT_RANGE[0] <= value <= INT_RANGE[1]:
                raise SeedError(f"{where}{path}: integer out of the 64-bit range")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise SeedError(f"{where}{path}: {value} is not a JSON number")
        else:
            raise SeedError(f"{where}{path}: a {type(value).__name__} is not a JSON value (quote it)")


def _timestamps(entry: dict[str, Any], where: str) -> None:
    """The clock runs on from stored timestamps: each must parse, with an offset, before Clock.LATEST."""
    # Message timestamps are the client's own text (PATCH may send any): only these two count.
    for name in ("createdAt", "updatedAt"):
        value = entry[name]
        moment = parse_timestamp(value) if isinstance(value, str) else None
        if moment is None:
            raise SeedError(f"{where}.{name}: not an RFC 3339 date-time with a time zone")
        if moment > Clock.LATEST:
            raise SeedError(f"{where}.{name}: later than {Clock.LATEST.year}-12-31, past the mock's clock")


def _check(schema: Any, entry: dict[str, Any], where: str) -> None:
    error = next(schema.iter_errors(entry), None)
    if error is not None:
        path = json_path(error.instance_path)
        message = shorten(error.message, 201)
        raise SeedError(f"{where}{path}: {message}")


def _unique(entries: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for entry in entries:
        if entry["id"] in seen:
            raise SeedError(f"{where}: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
    return entries


def demo_data(tenants: list[str]) -> dict[str, Any]:
    """A few realistic conversations per tenant, with stable ids so that docs and curl lines work.

    The first tenant also owns the systemprompt.io conversation that the documentation's own
    curl command updates; ids never repeat across tenants, so isolation stays observable.
    """
    result: dict[str, Any] = {}
    for index, tenant in enumerate(tenants):

        def ident(kind: str, n: int, index: int = index) -> str:
            return str(uuid.uuid5(_NAMESPACE, f"{index}/{kind}/{n}"))

        runtype = [
            {
                "id": f"conv_demo{index + 1}_{n + 1}",
                "title": title,
                "modelId": model,
                "systemPrompt": prompt,
                "ownerId": f"user_{index + 1}",
                "metadata": meta,
                "messages": [
                    {
                        "id": f"msg_{n + 1}_{m + 1}",
                        "role": role,
                        "content": text,
                        "timestamp": f"2024-06-0{n + 1}T09:1{m}:00Z",
                    }
                    for m, (role, text) in enumerate(turns)
                ],
                "source": source,
                "createdAt": f"2024-06-0{n + 1}T09:10:00Z",
                "updatedAt": f"2024-06-0{n + 1}T09:1{len(turns)}:00Z",
                **hidden,
            }
            for n, (title, model, prompt, meta, turns, source, hidden) in enumerate(_RUNTYPE_DEMO)
        ]
        systemprompt = [
            {
                "id": DOCUMENTED_UUID if index == 0 and n == 0 else ident("sp", n),
                "message": [
                    {
                        "id": ident(f"sp{n}-msg", m),
                        "role": role,
                        "content": text,
                        "reference": [],
                        "model": "gpt-4o-mini",
                        "metadata": {
                            "title": title,
                            "tag": tags,
                            "version": 1,
                            "status": "published",
                            "author": "admin",
                        },
                    }
                    for m, (role, text) in enumerate(turns)
                ],
                "metadata": {
                    "title": title,
                    "description": description,
                    "created": "2024-01-01T12:00:00Z",
                    "updated": "2024-01-01T12:00:00Z",
                    "version": 1,
                    "status": "published",
                    "tag": tags,
                    "author": "admin",
                },
            }
            for n, (title, description, tags, turns) in enumerate(_SYSTEMPROMPT_DEMO)
        ]
        result[tenant] = {"runtype": runtype, "systemprompt": systemprompt}
    return {"tenants": result}


_RUNTYPE_DEMO: list[tuple[str, str | None, str | None, dict[str, Any], list[tuple[str, str]], str, dict[str, str]]] = [
    (
        "Help with Python",
        "claude-sonnet-4-5",
        "You are a coding assistant.",
        {"topic": "programming"},
        [("user", "Help me write a function"), ("assistant", "Sure! What kind of function would you like?")],
        "app",
        {},
    ),
    (
        "Trip to Lisbon ✈️",
        "gpt-4o",
        None,
        {"topic": "travel", "pinned": True},
        [("user", "Three days in Lisbon: what should I not miss?")],
        "app",
        {},
    ),
    (
        "Support widget session",
        "claude-haiku-4-5",
        "Answer questions about the product; be brief.",
        {"page": "/pricing"},
        [("user", "Do you have a free tier?"), ("assistant", "Yes: up to 1,000 requests a month.")],
        "client_token",
        {"surface_id": "surface_pricing", "client_token_id": "ct_demo"},
    ),
]

_SYSTEMPROMPT_DEMO: list[tuple[str, str, list[str], list[tuple[str, str]]]] = [
    (
        "Research Analysis",
        "A schema for analysing research data for blogs",
        ["SystemPrompt", "Blog"],
        [("user", "Please analyze this text and provide feedback.")],
    ),
    (
        "Weekly newsletter draft",
        "Drafts the Friday newsletter from the week's notes",
        ["Newsletter"],
        [("user", "Summarise these five notes into a newsletter intro.")],
    ),
]
