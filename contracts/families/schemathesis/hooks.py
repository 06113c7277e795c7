"""Loaded into the Schemathesis run (SCHEMATHESIS_HOOKS) so that what it creates can be
deleted afterwards: its valid creates carry the run's ownerId (found by the clean-up's
ownerId filter even when a signal stops the child between the server's answer and this
hook), and every id a create answers is noted in a file."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

import specs

CREATED_FILE_ENV = "CONVO_CONTRACTS_CREATED_FILE"
RUN_TAG_ENV = "CONVO_CONTRACTS_RUN_TAG"
# The field our own families tag what they create with; the clean-up lists by it.
OWNER_FIELD = "ownerId"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    tag = os.environ.get(RUN_TAG_ENV)
    meta = case.meta
    positive = meta is None or not meta.generation.mode.is_negative
    # Only valid creates: a negative case keeps the invalid value it was generated to send.
    creates = case.method.upper() == "POST" and isinstance(case.body, dict)
    if tag and positive and creates and OWNER_FIELD in _create_fields(case):
        case.body[OWNER_FIELD] = tag


def _create_fields(case: Any) -> set[str]:
    """The properties the operation's request body declares, from our spec (the tag goes only
    where it fits)."""
    for api in specs.API_NAMES:
        for op in specs.load(api).operations:
            if op.method == "POST" and op.path == case.operation.path:
                return set((op.request_schema() or {}).get("properties", {}))
    return set()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    path = os.environ.get(CREATED_FILE_ENV)
    if not path or case.method.upper() != "POST" or not 200 <= response.status_code < 300:
        return
    try:
        data = response.json()
    except ValueError:
        return
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(data["id"] + "\n")
