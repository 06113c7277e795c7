"""An exchange cut off before its end: its client left, or the proxy is stopping.

Either way the proxy stops waiting on the upstream and closes that connection: an answer
nobody will read is not read on (a dripping or endless one would hold the connection, and
at shutdown the whole process, for as long as the upstream cares to send). The cut is a
cancellation of the exchange's task, so that it lands at whatever the exchange awaits (a
free connection, the upstream's head, its held body, the client taking the relay) and every
step's own clean-up closes what it holds; `ProxyEndpoint` catches it and ends the exchange.

The news comes from the mock's server protocol (`protocol.Connection.watch`, nothing to pay
per request but a callback set and unset). Under another ASGI server it comes from
`receive()`, listened to by a task once the request body is all read.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import Receive, Scope

from ..protocol import LEFT, STOPPING, connection

# Once the server begins to stop (Ctrl-C, SIGTERM), how long an exchange in flight may still
# take to end by itself; then it is cut off. Answers that were about to arrive still do.
STOP_GRACE = 1.0


class Cutoff:
    """Cancels the exchange's task when its client leaves, or STOP_GRACE seconds after the
    server began to stop; `reason` says which (LEFT, STOPPING; None: not cut)."""

    __slots__ = ("_connection", "_gone", "_listener", "_task", "_timer", "reason")

    def __init__(self, scope: Scope) -> None:
        self.reason: str | None = None
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._timer: asyncio.TimerHandle | None = None
        self._listener: asyncio.Future[None] | None = None
        self._gone: asyncio.Future[None] | None = None
        self._connection = connection(scope)
        if self._connection is not None:
            self._connection.watch(self._told)

    def listen(self, receive: Receive) -> None:
        """Without the mock's protocol, learn from `receive` that the client has left: only
        once the request body is all read (the listener takes every message)."""
        if self._connection is None and self._listener is None:
            self._listener = asyncio.ensure_future(_client_gone(receive))
            self._listener.add_done_callback(self._heard)

    def caught(self) -> bool:
        """In `except CancelledError`: whether the cancellation is this cut (then it is taken
        back, so that the task's later awaits run as usual), not someone else's."""
        if self.reason is None:
            return False
        self._task.uncancel()
        return True

    async def hang_up(self) -> None:
        """End the client's connection after what was sent: the answer cut short, as the
        client sees it (reset if the client has not taken what is still buffered within
        STOP_GRACE: a close waits for that). Then wait until the server knows: returned
        earlier, uvicorn would log an answer left unfinished as an error."""
        if self._connection is None:
            return  # the server closes it itself
        gone = self._gone = asyncio.get_running_loop().create_future()
        self._connection.hang_up()
        try:
            await asyncio.wait_for(asyncio.shield(gone), STOP_GRACE)
        except TimeoutError:
            self._connection.reset()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone, STOP_GRACE)

    def close(self) -> None:
        """The exchange is over: no more news, no cut."""
        if self._connection is not None:
            self._connection.watch(None)
        if self._timer is not None:
            self._timer.cancel()
        if self._listener is not None:
            self._listener.cancel()

    def _told(self, event: str) -> None:
        if event == LEFT:
            if self._gone is not None and not self._gone.done():
                self._gone.set_result(None)
            self._cut(LEFT)
        elif event == STOPPING and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(STOP_GRACE, self._cut, STOPPING)

    def _heard(self, listener: asyncio.Future[None]) -> None:
        if not listener.cancelled():
            listener.exception()  # retrieved: a receive that failed is a client gone too
            self._cut(LEFT)

    def _cut(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            self._task.cancel()


async def _client_gone(receive: Receive) -> None:
    """Until the client has left."""
    while (await receive())["type"] != "http.disconnect":
        pass


__all__ = ["STOP_GRACE", "Cutoff"]
