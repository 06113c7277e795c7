"""The throughput harness's own arithmetic and rules (benchmarks/_harness.py), without
running a benchmark: ratios of alternated pairs, medians, the order of a round, when a run
says the load generator or the machine was the limit, and reading wrk's output."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _harness import (
    BARE_FLOOR,
    Sample,
    limits,
    order,
    pair_ratios,
    parse_wrk,
    spread,
    to_ms,
)

WRK_OUTPUT = """Running 4s test @ http://127.0.0.1:8000/v1/conversations/conv_demo1_1
  1 threads and 32 connections
  Latency Distribution
     50%    1.31ms
     75%    1.50ms
     90%    1.71ms
     99%    3.02ms
  96000 requests in 4.00s, 70.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  24000.50
Transfer/sec:     17.50MB
"""


def _sample(rps: float, wrk_cpu: float = 0.3, server_cpu: float = 1.0, waited: float = 0.0) -> Sample:
    return Sample(rps, 1.0, 2.0, 0, wrk_cpu, server_cpu, waited)


def test_pairs_are_divided_round_by_round_and_the_median_taken() -> None:
    mock, bare = [15_000, 16_000, 9_000], [24_000, 25_000, 15_000]
    ratios = pair_ratios(mock, bare)
    assert ratios == pytest.approx([0.625, 0.64, 0.6])
    summary = spread(ratios)
    assert (summary.median, summary.low, summary.high) == pytest.approx((0.625, 0.6, 0.64))
    # A slow round (the machine busy) moves both: its ratio stays in line, unlike the medians'.
    assert str(summary) == "0.62 (0.60-0.64)"
    with pytest.raises(ValueError):
        pair_ratios([1.0], [1.0, 2.0])
    assert math.isnan(spread([]).median)


def test_rounds_alternate_their_order() -> None:
    assert order(0, ["bare", "old", "new"]) == ["bare", "old", "new"]
    assert order(1, ["bare", "old", "new"]) == ["new", "old", "bare"]
    assert order(2, ["bare", "mock"]) == ["bare", "mock"]


def test_a_run_that_could_see_the_ceiling_names_no_limit() -> None:
    runs = {"bare": [_sample(24_000)] * 3, "mock": [_sample(16_000)] * 3}
    assert limits(runs, "bare") == []


def test_bare_below_its_floor_says_the_ceiling_was_not_seen() -> None:
    [said] = limits({"bare": [_sample(BARE_FLOOR - 1)], "mock": [_sample(5_000)]}, "bare")
    assert "below the expected floor" in said


def test_a_saturated_load_generator_is_named() -> None:
    [said] = limits({"bare": [_sample(24_000, wrk_cpu=0.97)], "mock": [_sample(16_000)]}, "bare")
    assert said.startswith("wrk used 97% of its core against bare")


def test_a_server_kept_from_its_core_or_idle_is_named() -> None:
    crowded, idle = limits(
        {"bare": [_sample(24_000)], "a": [_sample(9_000, waited=0.4)], "b": [_sample(9_000, server_cpu=0.5)]}, "bare"
    )
    assert crowded.startswith("a waited for its core 40%")
    assert idle.startswith("b was busy 50%")


def test_wrks_output_is_read() -> None:
    assert parse_wrk(WRK_OUTPUT) == (24000.5, 1.31, 3.02, 3)
    assert [to_ms(t) for t in ("812.00us", "4.31ms", "1.20s", "1.01m")] == pytest.approx([0.812, 4.31, 1200, 60600])
    assert math.isnan(to_ms("soon"))
    with pytest.raises(RuntimeError):
        parse_wrk("wrk: connection refused")
