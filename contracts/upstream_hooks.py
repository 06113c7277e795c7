"""Loaded into the Schemathesis run (SCHEMATHESIS_HOOKS) to note the Runtype conversations it
creates, so that the suite can delete them afterwards."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

CREATED_FILE_ENV = "CONVO_CONTRACTS_CREATED_FILE"


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
