"""How a run ends other than with a verdict: it could not run (exit 2), or it was
interrupted by a signal (exit 128 + the signal's number)."""

from __future__ import annotations


class CannotRun(Exception):
    """The run could not start or the tool failed: unreachable server, refused key, bad
    arguments, Schemathesis failing to start (exit 2). Never a verdict about the server."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop sending, clean up, report what is known.

    A BaseException, like KeyboardInterrupt, so that `except Exception` in a check does not
    swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
