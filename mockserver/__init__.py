"""A stateful mock of the Runtype and systemprompt.io conversation APIs, driven by their specs."""

from .app import create_app
from .config import MockConfig

__all__ = ["MockConfig", "create_app"]
