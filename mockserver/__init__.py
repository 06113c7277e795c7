"""A stateful mock of the Runtype and systemprompt.io conversation APIs, driven by their specs."""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`: importing typing here would cost `python -m mockserver` the
# milliseconds in which a Ctrl-C still ends in a traceback (see interrupt.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .app import create_app
    from .config import MockConfig

__all__ = ["MockConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `python -m mockserver` must catch Ctrl-C before the heavy imports
    # (starlette, httpx, the specs), and importing the package runs this file first.
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "MockConfig":
        from .config import MockConfig

        return MockConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
