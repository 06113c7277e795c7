"""The monitor's picture of the state stays bounded: an LRU of tracked ids, of walks, of
credentials; memory flat over a long run of distinct ids."""

from __future__ import annotations

import gc
import tracemalloc

from mockserver.proxy.monitor import Monitor
from mockserver.proxy.state_tracker import TRACKED_WALKS, WALK_ITEMS, Tracker, Walk, token
from tests.mockserver.proxy.exchanges import Driver, conversation, page, summary

RT = "runtype"


def test_tokens_keep_short_values_as_text_and_long_ones_by_hash() -> None:
    assert token({"b": 1, "a": [True, None]}) == '{"a":[true,null],"b":1}'
    long_value = token("x" * 1000)
    assert isinstance(long_value, int) and long_value == token("x" * 1000) != token("x" * 999 + "y")
    nested: list[object] = []
    for _ in range(300):  # deeper than orjson writes
        nested = [nested]
    assert token(nested) is None


def test_the_least_recently_seen_id_is_forgotten_first_and_a_write_in_flight_last() -> None:
    tracker = Tracker(size=3)
    for ident in ("a", "b", "c"):
        tracker.entry((RT, "k", ident), ident)
    tracker.entry((RT, "k", "a"), "a")  # touched: now the most recent
    tracker.touch((RT, "k", "b"))  # (what a read or update decided at once does)
    tracker.write_begins((RT, "k"), (RT, "b"))  # its answer is still due
    tracker.entry((RT, "k", "d"), "d")
    assert [key[2] for key in tracker.entries] == ["a", "b", "d"]  # "c" went, not "b"
    assert list(tracker.by_owner[(RT, "k")]) == ["a", "b", "d"]  # the same order: most recent last
    assert set(tracker.by_id) == {(RT, "a"), (RT, "b"), (RT, "d")}


def test_walks_are_bounded_in_number_and_length() -> None:
    tracker = Tracker()
    for n in range(TRACKED_WALKS + 10):
        tracker.keep_walk(("walk", n), Walk((), 0))
    assert len(tracker.walks) == TRACKED_WALKS and ("walk", 0) not in tracker.walks
    long_walk = Walk((), 0, ids={str(n) for n in range(WALK_ITEMS + 1)})
    tracker.keep_walk(("long",), long_walk)
    assert ("long",) not in tracker.walks  # dropped, never judged


def _run(driver: Driver, start: int, count: int) -> None:
    """`count` distinct conversations: created, updated, read, listed, half of them deleted."""
    for n in range(start, start + count):
        ident = f"conv_{n}"
        driver.send(RT, "createConversation", 201, conversation(ident, metadata={"n": n}), body={"metadata": {"n": n}})
        driver.send(
            RT,
            "updateConversation",
            200,
            conversation(ident, title=f"t{n}", metadata={"n": n}),
            item=ident,
            body={"title": f"t{n}"},
        )
        driver.send(RT, "getConversation", 200, conversation(ident, title=f"t{n}", metadata={"n": n}), item=ident)
        driver.send(RT, "listConversations", 200, page(summary(ident, title=f"t{n}"), cursor=f"k{n}"), query="limit=1")
        if n % 2:
            driver.send(RT, "deleteConversation", 200, {"success": True}, item=ident)


def test_memory_stays_flat_over_a_long_run_of_distinct_ids() -> None:
    size = 500
    driver = Driver(Monitor(sole_writer=True, size=size))
    _run(driver, 0, 2 * size)  # past the bound: the tracker is full and forgetting
    gc.collect()
    tracemalloc.start()
    try:
        _run(driver, 2 * size, size)
        gc.collect()
        warm, _ = tracemalloc.get_traced_memory()
        _run(driver, 3 * size, 4 * size)  # four times as many distinct ids again
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    tracker = driver.monitor.tracker
    assert len(tracker.entries) == size
    assert sum(len(owned) for owned in tracker.by_owner.values()) == size
    assert len(tracker.walks) <= TRACKED_WALKS
    # Flat: four times the ids again cost nothing more than the tables' resizing (a dict's table
    # doubles); growing with the ids would be ~4 × warm. And about 1 KiB per tracked id.
    assert after < 1.5 * warm, (warm, after)
    assert warm / size < 2048, warm
