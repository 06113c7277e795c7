"""Transport faults reach the connection through the seam the server protocol puts in the
scope (`mockserver.protocol.CONNECTION`), not by following wrapped callables: a plain ASGI
middleware that wraps receive and send, at any place in the stack or around the whole app,
leaves reset and truncate working and journaled."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.app import create_app
from mockserver.background import BackgroundServer
from tests.conftest import ALICE

AUTH = {"Authorization": f"Bearer {ALICE}"}
LAYERS = len(create_app().user_middleware)


class Plain:
    """What anyone might add: wraps receive and send, and says nothing about what it wrapped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped_receive() -> Message:
            return await receive()

        async def wrapped_send(message: Message) -> None:
            await send(message)

        await self.app(scope, wrapped_receive, wrapped_send)


def _with_plain(place: int | None) -> Starlette | Plain:
    app = create_app()
    if place is None:
        return Plain(app)
    # Starlette builds its middleware stack on the first request: the list is still open.
    app.user_middleware.insert(place, Middleware(Plain))
    return app


@pytest.mark.parametrize("place", [*range(LAYERS + 1), None], ids=[*map(str, range(LAYERS + 1)), "around"])
def test_reset_and_truncate_pass_any_middleware(place: int | None) -> None:
    with BackgroundServer(_with_plain(place)) as server, httpx.Client(base_url=server.base_url) as client:
        with pytest.raises(httpx.TransportError):
            client.get("/v1/conversations", headers={**AUTH, "Prefer": "fault=reset"})
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v1/conversations", headers={**AUTH, "Prefer": "fault=truncate"})
        assert client.get("/v1/conversations", headers=AUTH).status_code == 200
        entries = client.get("/__mock__/requests").json()["requests"]
    assert [(e["status"], e["fault"]) for e in entries] == [
        (0, "fault=reset by prefer-header"),
        (200, "fault=truncate by prefer-header"),
        (200, None),
    ]
