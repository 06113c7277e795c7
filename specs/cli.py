"""What both command lines (`convo-mock`, `convo-contracts`) share: an argparse parser whose
every error is one line on stderr and exit status 2 (could not run), never the whole usage.
The text of an error may quote what was typed, so it is made printable first."""

from __future__ import annotations

import argparse
from typing import NoReturn

from .text import printable

# The exit status of a command that could not run (a bad option, a bad setting).
CANNOT_RUN = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, with each error one line naming the problem (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(CANNOT_RUN, f"{self.prog}: error: {printable(message)} (see --help)\n")


__all__ = ["CANNOT_RUN", "OneLineParser"]
