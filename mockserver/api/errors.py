"""The one error type the mock raises, and its JSON form.

Every error the mock sends is `{"error": <short code>, "message": <what was wrong>}` with
`application/json` (docs/behaviour.md rule 6); nothing else ever reaches the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import orjson
from starlette.responses import Response
from starlette.types import Message, Send

# Short codes clients and docs/mock.md already rely on, where they differ from the standard phrase.
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
        return json_response(self.status, self.payload(), headers=self.headers)

    def payload(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


def json_response(status: int, body: object, headers: Mapping[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


_JSON = (b"content-type", b"application/json")


async def send_json(send: Send, status: int, body: object, headers: Mapping[str, str] | None = None) -> None:
    """What `json_response(...)` sends, sent straight: no Response object on the hot path.
    The same headers in the same order (the given ones, then length and type)."""
    if status == 204:
        await json_response(204, None, headers)({"type": "http"}, _no_receive, send)
        return
    data = orjson.dumps(body)
    raw = (
        [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        if headers
        else []
    )
    raw.append((b"content-length", str(len(data)).encode()))
    raw.append(_JSON)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


async def _no_receive() -> Message:
    raise RuntimeError("a response does not read the request")
