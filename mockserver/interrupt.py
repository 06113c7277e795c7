"""What Ctrl-C does at each moment of the mock's life: never a traceback.

- Starting (imports, reading the seed and state file, binding the port): nothing has been
  served, saved or written, so the process ends at once and silently with `INTERRUPTED`
  (130, 128 + SIGINT: what a shell shows for an interrupted command).
- Serving, from just before uvicorn runs: a signal asks the server to stop, as uvicorn's own
  handler does once it has taken SIGINT and SIGTERM over (a signal before that still stops
  it: start-up completes, then shutdown and the final save). No exception is raised, so none
  can land inside the event loop's set-up; uvicorn's re-raise of the signal once it is done
  lands here too. The exit status is the run's own (0, or 1 if the final save failed).
- Stopping (the closing lines and, in proxy mode, the report): a further Ctrl-C is ignored,
  so that what is being written is written whole.

Kept free of heavy imports: `python -m mockserver` installs it before anything else loads.
"""

from __future__ import annotations

import os
import signal

# Annotations only (not `typing.TYPE_CHECKING`): each import here widens the first
# milliseconds in which a Ctrl-C is still Python's own, with its traceback.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

INTERRUPTED = 128 + signal.SIGINT


def _end_now(signum: int, frame: FrameType | None) -> None:
    # Not an exception: raised inside an import or a library's `except BaseException`, it
    # could still end in a traceback. Nothing is open that needs closing yet.
    os._exit(128 + signum)


def starting() -> None:
    """From the first line of `python -m mockserver` until the server runs."""
    signal.signal(signal.SIGINT, _end_now)


def serving(stop: Callable[[], None], *, sigterm: bool = False) -> None:
    """Just before uvicorn runs: SIGINT (and SIGTERM with `sigterm`, so that the proxy's
    closing summary and report are not cut short by the default action) call `stop`."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    signal.signal(signal.SIGINT, handler)
    if sigterm:
        signal.signal(signal.SIGTERM, handler)


def stopping(*, sigterm: bool = False) -> None:
    """Once uvicorn has stopped: the closing work finishes whatever arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
