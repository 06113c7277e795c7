"""How a run ends other than with a verdict: it could not run (exit 2), or it was
interrupted by a signal (exit 128 + the signal's number); and every exit status of a run,
once (`EXIT_CODES`: the CLI's code and its --help both read it)."""

from __future__ import annotations

from specs.cli import CANNOT_RUN

CONFORMS = 0
BROKEN = 1
# Each exit status of `convo-contracts run` and what it means; a signal ends it with 128 + its number.
EXIT_CODES: dict[int, str] = {
    CONFORMS: "conforming: no documented behaviour was seen broken",
    BROKEN: "documented behaviour broken; also: an observation under --strict, coverage below "
    "--fail-under, or something the run created could not be deleted",
    CANNOT_RUN: "could not run: a bad option or setting, an unreachable server, a refused key",
}
SIGNAL_EXIT = "128 + the signal's number (130 SIGINT, 143 SIGTERM): stopped; partial reports are written"


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
