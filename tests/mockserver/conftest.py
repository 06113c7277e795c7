"""Fixtures for tests/mockserver."""

from tests.mockserver.upstreams import serve

__all__ = ["serve"]
