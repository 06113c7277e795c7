"""The large-body path: parsed and checked in the worker with the collector paused, and only then."""

import gc
from typing import Any

import pytest

from mockserver.api.body import _parse_large
from mockserver.api.errors import ApiError


def _refuse(value: Any) -> None:
    raise ApiError(400, "body field 'title' is not a string")


def _accept(value: Any) -> None:
    assert not gc.isenabled()  # the check runs with the collector paused too


def test_the_collector_is_paused_for_a_large_body_and_enabled_again_after_any_outcome() -> None:
    assert gc.isenabled()
    assert _parse_large(b'{"title": "x"}', 64, _accept) == {"title": "x"}
    assert gc.isenabled()
    with pytest.raises(ApiError):
        _parse_large(b'{"title": 5}', 64, _refuse)
    assert gc.isenabled()
    with pytest.raises(ApiError, match="not valid JSON"):
        _parse_large(b"{nope", 64, _accept)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_host_program_stays_off() -> None:
    gc.disable()
    try:
        _parse_large(b"{}", 64, _accept)
        assert not gc.isenabled()
    finally:
        gc.enable()
