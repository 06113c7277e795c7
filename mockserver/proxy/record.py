"""Record mode (`--record FILE`): what the upstream returned, written as a seed file.

One tenant per credential, named by `--record-key KEY=NAME` or `tenant-1`, `tenant-2`, ...
in the order they are first seen; the key itself is never written. Only answers that broke
no rule are recorded, and only what validates as the API's `Conversation` schema (a
Runtype list carries summaries, not conversations, so it records nothing), so the file
loads with `convo-mock --seed FILE` and serves the same conversations. A successful DELETE
removes the conversation. Written atomically on shutdown and on `POST /__mock__/record/flush`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

import specs
from specs import Operation
from specs.redact import Redactor
from specs.text import inert_json

from ..persistence import write_atomic
from .exchange import Exchange

# Served by the mock from the request's host, never stored (see seed.py).
_DERIVED = ("_link",)


@functools.cache
def _conversation_validator(api: str) -> Any:
    return jsonschema_rs.Draft202012Validator(specs.load(api).schema("Conversation"), validate_formats=True)


def parse_record_key(text: str) -> tuple[str, str]:
    """`KEY=NAME` as given to `--record-key`; the error never repeats the key."""
    key, sep, name = text.rpartition("=")
    if not sep or not key or not name or any(c.isspace() for c in name) or not name.isprintable():
        raise ValueError("--record-key expects KEY=NAME, NAME printable text without spaces")
    return key, name


class Recorder:
    def __init__(self, path: Path, names: dict[str, str], redactor: Callable[[], Redactor]) -> None:
        self.path = path
        self._redactor = redactor  # every secret known when the file is written
        self._names = dict(names)  # key → tenant name
        self._tenants: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self._counter = 0
        self.changes = 0

    def _tenant(self, key: str) -> dict[str, dict[str, dict[str, Any]]]:
        name = self._names.get(key)
        if name is None:
            taken = set(self._names.values())
            while name is None or name in taken:
                self._counter += 1
                name = f"tenant-{self._counter}"
            self._names[key] = name
        return self._tenants.setdefault(name, {"runtype": {}, "systemprompt": {}})

    def observe(self, operation: Operation, exchange: Exchange, key: str | None) -> None:
        """Take what a conforming answer carried; `key` is the request's credential."""
        if key is None or not 200 <= exchange.status < 300 or exchange.response_body is None:
            return
        conversations = self._tenant(key)[operation.api]
        if operation.method == "DELETE":
            for value in exchange.path_params.values():
                if conversations.pop(value, None) is not None:
                    self.changes += 1
            return
        if not exchange.response_body:
            return
        try:
            body = orjson.loads(exchange.response_body)
        except orjson.JSONDecodeError:
            return
        validator = _conversation_validator(operation.api)
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict) and isinstance(item.get("id"), str) and validator.is_valid(item):
                conversations[item["id"]] = {k: v for k, v in item.items() if k not in _DERIVED}
                self.changes += 1

    def seed(self) -> dict[str, Any]:
        return {
            "tenants": {
                name: {api: list(items.values()) for api, items in content.items()}
                for name, content in self._tenants.items()
            }
        }

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "tenants": len(self._tenants),
            "conversations": sum(len(items) for c in self._tenants.values() for items in c.values()),
        }

    async def flush(self) -> dict[str, Any]:
        # A key could only reach the file inside recorded content (a title or an id holding
        # it, say): replaced there too, in the parsed data, where no JSON escape can hide it.
        # A server's text in it stays inert when the file is printed.
        data = self._redactor().json(self.seed())
        text = inert_json(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        await asyncio.to_thread(write_atomic, self.path, text)
        return self.summary()
