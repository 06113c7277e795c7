"""The one error type the mock raises, and its JSON form.

Every error the mock sends is `{"error": <short code>, "message": <what was wrong>}` with
`application/json` (docs/behaviour.md rule 6); nothing else ever reaches the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import orjson
from starlette.responses import Response

# Short codes clients and the README already rely on, where they differ from the standard phrase.
_STABLE = {413: "payload_too_large", 500: "internal_error"}


def short_code(status: int) -> str:
    """`404` → `not_found`: the standard reason phrase in snake case."""
    if status in _STABLE:
        return _STABLE[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "error"
    return phrase.lower().replace("-", "_").replace(" ", "_")


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or short_code(status)
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return json_response(self.status, {"error": self.code, "message": self.message}, headers=self.headers)


def json_response(status: int, body: object, headers: Mapping[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)
