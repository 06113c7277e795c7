"""`python -m mockserver` and the `convo-mock` command."""

from __future__ import annotations

import sys

from . import interrupt


def main() -> int:
    # Before the heavy imports: a Ctrl-C during them ends the start quietly (interrupt.py).
    interrupt.starting()
    from .cli import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
