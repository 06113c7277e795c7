"""The monitor's shortcuts (`Monitor._unchanged_read`, `Monitor._overlapping_update`) against a
monitor without them: for every exchange a shortcut decides, the same findings and the same
knowledge after as the whole way (`Monitor._judge`), in fixed scenarios and in random ones."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from mockserver.proxy.exchange import Exchange, Finding
from mockserver.proxy.monitor import Monitor, Watch
from mockserver.proxy.state_tracker import Known
from tests.mockserver.proxy.exchanges import Driver, conversation, page, summary

RT = "runtype"
SP = "systemprompt"
DOC = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


class Unhurried(Monitor):
    """The monitor without its shortcuts: every read and update judged and learnt the whole way."""

    def _unchanged_read(self, exchange: Exchange, watch: Watch) -> bool:
        return False

    def _overlapping_update(self, exchange: Exchange, watch: Watch) -> bool:
        return False


class Counted(Monitor):
    """The monitor, counting the exchanges its shortcuts decided."""

    def __init__(self, sole_writer: bool) -> None:
        super().__init__(sole_writer)
        self.taken = {"read": 0, "update": 0}

    def _unchanged_read(self, exchange: Exchange, watch: Watch) -> bool:
        taken = super()._unchanged_read(exchange, watch)
        self.taken["read"] += taken
        return taken

    def _overlapping_update(self, exchange: Exchange, watch: Watch) -> bool:
        taken = super()._overlapping_update(exchange, watch)
        self.taken["update"] += taken
        return taken


# Everything an entry knows, less which requests it rests on (ids only name the proof) and the
# monotonic time of its last stamp.
KNOWN = tuple(
    name for name in Known.__slots__ if name not in ("basis", "alive_by", "created_by", "updated_by", "updated_at")
)


def knowledge(monitor: Monitor) -> tuple[Any, ...]:
    """The tracker's picture: each entry's knowledge, in the order they would be forgotten, the
    writes in flight and the count of changes."""
    tracker = monitor.tracker
    entries = [(key, tuple(getattr(known, name) for name in KNOWN)) for key, known in tracker.entries.items()]
    return entries, dict(tracker.writing), tracker.changes


def found(outcome: list[Finding]) -> list[tuple[str, bool, str]]:
    return [(f.rule, f.observation, f.pointer) for f in outcome]


STAMPS = {"createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z"}
MIDDLE = {**STAMPS, "updatedAt": "2026-01-02T12:00:00Z"}
LATER = {**STAMPS, "updatedAt": "2026-01-03T00:00:00Z"}
EARLIER = {**STAMPS, "updatedAt": "2026-01-01T12:00:00Z"}


def _two_updates(d: Driver, first: dict[str, Any], second: dict[str, Any]) -> list[Finding]:
    """Two updates of c1 in flight at once, answered in turn (`first`, `second`: what each
    answer shows besides the title it sent; `body` in `first`: what the first one sent), then
    two reads of what is left."""
    one = d.start(RT, "updateConversation", item="c1", body=first.pop("body", {"title": "a"}))
    two = d.start(RT, "updateConversation", item="c1", body={"title": "b"})
    out = d.answer(one, first.pop("status", 200), conversation("c1", **{"title": "a", **MIDDLE, **first}))
    out += d.answer(two, 200, conversation("c1", **{"title": "b", **LATER, **second}))
    out += d.send(RT, "getConversation", 200, conversation("c1", title="b", **LATER), item="c1")
    moved = {**LATER, "createdAt": "2027-01-01T00:00:00Z"}
    out += d.send(RT, "getConversation", 200, conversation("c1", title="b", **moved), item="c1")
    return out


def _reads_out_of_order(d: Driver, last: dict[str, Any], _: dict[str, Any]) -> list[Finding]:
    """Two reads of c1 answered out of order with the bytes the knowledge rests on, a third
    begun between their answers; then the third's answer (`last`: its status and fields)."""
    first = d.start(RT, "getConversation", item="c1")
    second = d.start(RT, "getConversation", item="c1")
    out = d.answer(second, 200, conversation("c1", **STAMPS))
    third = d.start(RT, "getConversation", item="c1")
    out += d.answer(first, 200, conversation("c1", **STAMPS))
    status = last.pop("status", 200)
    out += d.answer(third, status, conversation("c1", **{**STAMPS, **last}) if status == 200 else {"error": "x"})
    return out


def _read_across_an_update(d: Driver, _: dict[str, Any], __: dict[str, Any]) -> list[Finding]:
    """A read in flight while an update was answered, answered with that update's bytes (the
    whole way forgets what was known); then a stale read."""
    read = d.start(RT, "getConversation", item="c1")
    body = {"title": "new"}
    out = d.send(RT, "updateConversation", 200, conversation("c1", title="new", **LATER), item="c1", body=body)
    out += d.answer(read, 200, conversation("c1", title="new", **LATER))
    out += d.send(RT, "getConversation", 200, conversation("c1", title="old", **LATER), item="c1")
    return out


def _a_later_stamp_known(d: Driver, _: dict[str, Any], __: dict[str, Any]) -> list[Finding]:
    """A read with a later updatedAt, then two with the create's bytes: the knowledge rests on
    the first of them, whose updatedAt is behind the one known, so the second is held to it too
    (the read shortcut asks the stamps, and steps aside)."""
    d.send(RT, "getConversation", 200, conversation("c1", **LATER), item="c1")
    out = d.send(RT, "getConversation", 200, conversation("c1", **STAMPS), item="c1")
    out += d.send(RT, "getConversation", 200, conversation("c1", **STAMPS), item="c1")
    return out


def _revived(d: Driver, _: dict[str, Any], __: dict[str, Any]) -> list[Finding]:
    """Shown gone by a 404, then listed (alive again, its fields unknown), then read with its
    old bytes, then read changed."""
    d.send(RT, "getConversation", 200, conversation("c1", **STAMPS), item="c1")
    out = d.send(RT, "getConversation", 404, {"error": "not_found"}, item="c1")
    out += d.send(RT, "listConversations", 200, page(summary("c1", **STAMPS)))
    out += d.send(RT, "getConversation", 200, conversation("c1", **STAMPS), item="c1")
    out += d.send(RT, "getConversation", 200, conversation("c1", title="zzz", **STAMPS), item="c1")
    return out


def _malformed_id(d: Driver, _: dict[str, Any], __: dict[str, Any]) -> list[Finding]:
    """A read of an id the spec says is a uuid, answered 2xx twice with the same bytes: each time
    the server accepted invalid input."""
    body = {"id": "not-a-uuid", "message": [], "metadata": {}, "_link": "x"}
    out = d.send(SP, "getConversation", 200, body, item="not-a-uuid")
    out += d.send(SP, "getConversation", 200, body, item="not-a-uuid")
    return out


Scenario = Callable[[Driver, dict[str, Any], dict[str, Any]], list[Finding]]
MOVED = "2026-01-01T00:00:01Z"
# scenario, its two arguments, how many exchanges each shortcut decides: each case where their
# deciding conditions hold, or fail on one point.
CASES: dict[str, tuple[Scenario, dict[str, Any], dict[str, Any], dict[str, int]]] = {
    "both updates shown": (_two_updates, {}, {}, {"read": 0, "update": 2}),
    "an update shows another title": (_two_updates, {"title": "not a"}, {}, {"read": 0, "update": 1}),
    "an invalid update answered 2xx": (_two_updates, {"body": {"title": "x" * 501}}, {}, {"read": 0, "update": 1}),
    "an update refused": (_two_updates, {"status": 422}, {}, {"read": 0, "update": 1}),
    "createdAt moved": (_two_updates, {"createdAt": MOVED}, {"createdAt": MOVED}, {"read": 0, "update": 1}),
    "updatedAt back": (_two_updates, {}, {"updatedAt": "2026-01-01T12:00:00Z"}, {"read": 0, "update": 2}),
    "another id shown": (_two_updates, {"id": "c2"}, {}, {"read": 0, "update": 1}),
    "reads out of order": (_reads_out_of_order, {}, {}, {"read": 3, "update": 0}),
    "a read between them changed": (_reads_out_of_order, {"title": "zzz"}, {}, {"read": 2, "update": 0}),
    "a read between them 404": (_reads_out_of_order, {"status": 404}, {}, {"read": 2, "update": 0}),
    "a read between them earlier": (_reads_out_of_order, EARLIER, {}, {"read": 2, "update": 0}),
    "a read across an update": (_read_across_an_update, {}, {}, {"read": 0, "update": 0}),
    "a later stamp known": (_a_later_stamp_known, {}, {}, {"read": 0, "update": 0}),
    "a malformed id read twice": (_malformed_id, {}, {}, {"read": 0, "update": 0}),
    "revived by a list": (_revived, {}, {}, {"read": 1, "update": 0}),  # the read before the 404
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("sole_writer", [False, True], ids=["default", "sole-writer"])
def test_the_shortcuts_find_and_learn_what_the_whole_way_does(case: str, sole_writer: bool) -> None:
    """The same findings, and the same knowledge after, as a monitor that takes the whole way
    every time; and the shortcuts decided what they should."""
    scenario, first, second, decided = CASES[case]
    counted = Counted(sole_writer)
    outcomes = []
    for monitor in (counted, Unhurried(sole_writer)):
        d = Driver(monitor)
        d.send(RT, "createConversation", 201, conversation("c1", **STAMPS), body={})
        outcome = scenario(d, dict(first), dict(second))
        outcomes.append((found(outcome), knowledge(monitor)))
    assert outcomes[0] == outcomes[1]
    assert counted.taken == decided


def _random_traffic(seed: int, steps: int) -> list[tuple[Any, ...]]:
    """Exchanges begun and answered (or abandoned) in a random order: both APIs, two keys, both
    spellings of a uuid, writes refused or failed, list pages, answers that show what was sent
    or not, stamps that move, stand or go back."""
    r = random.Random(seed)
    stamps = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]
    actions: list[tuple[Any, ...]] = []
    in_flight: list[int] = []
    last: dict[tuple[str, str], Any] = {}  # the last 2xx answer about each conversation

    def runtype_answer(item: str) -> dict[str, Any]:
        created = r.choice(stamps[:1] * 5 + stamps[1:2])
        return conversation(item, title=r.choice("ab"), createdAt=created, updatedAt=r.choice(stamps))

    def systemprompt_answer() -> dict[str, Any]:
        return {"id": r.choice([DOC, DOC.upper()]), "message": [], "metadata": r.choice([{}, {"a": 1}, {"a": 2}])}

    for _ in range(steps):
        if in_flight and r.random() < 0.5:
            begun = in_flight.pop(r.randrange(len(in_flight)))
            api, operation, item, body = actions[begun][1]
            if operation in ("updateConversation", "deleteConversation") and r.random() < 0.06:
                actions.append(("abandon", begun))
                continue
            status = r.choice([200] * 8 + [404, 500, 422])
            answer: Any = {"error": "x"}
            if operation == "deleteConversation" and status == 200:
                answer = {"success": True}
            elif operation == "listConversations" and api == RT:
                chosen = r.sample(["c1", "c2"], r.randint(0, 2))
                answer = page(*(summary(c, title=r.choice("ab"), updatedAt=r.choice(stamps)) for c in chosen))
            elif operation == "listConversations":
                answer = {"data": [systemprompt_answer()] if r.random() < 0.7 else []}
            elif status == 200 and operation == "getConversation" and (api, item) in last and r.random() < 0.6:
                answer = last[(api, item)]  # what the last answer showed, unchanged
            elif status == 200:
                answer = runtype_answer(item if r.random() < 0.9 else "c2") if api == RT else systemprompt_answer()
                if operation == "updateConversation" and isinstance(body, dict) and r.random() < 0.7:
                    answer.update(body)  # shows what was sent
            if status == 200 and item is not None and operation != "deleteConversation":
                last[(api, item)] = answer
            actions.append(("answer", begun, status, answer))
            continue
        key = r.choice(["demo-alice", "demo-alice", "demo-bob"])
        if r.random() < 0.7:
            operation = r.choice(["getConversation"] * 4 + ["updateConversation"] * 4 + ["deleteConversation"])
            operation = r.choice([operation] * 8 + ["listConversations", "createConversation"])
            item = (
                r.choice(["c1"] * 5 + ["c2"]) if operation not in ("listConversations", "createConversation") else None
            )
            body = None
            if operation == "updateConversation":
                body = r.choice([{"title": "a"}, {"title": "b"}, {"title": 5}])
            elif operation == "createConversation":
                body = {}
            actions.append(("start", (RT, operation, item, body), key))
        else:
            operation = r.choice(["getConversation"] * 3 + ["updateConversation"] * 3 + ["listConversations"])
            item = None if operation == "listConversations" else r.choice([DOC, DOC, DOC.upper()])
            body = r.choice([{"metadata": {"a": 1}}, {"metadata": {"a": 2}}, {"metadata": 3}])
            actions.append(("start", (SP, operation, item, body if operation == "updateConversation" else None), key))
        in_flight.append(len(actions) - 1)
    return actions


def _play(monitor: Monitor, actions: list[tuple[Any, ...]]) -> list[Any]:
    """The findings of each answer and the tracker's picture after each step."""
    d = Driver(monitor)
    begun: dict[int, Exchange] = {}
    seen: list[Any] = []
    for step, action in enumerate(actions):
        if action[0] == "start":
            api, operation, item, body = action[1]
            begun[step] = d.start(api, operation, item=item, body=body, key=action[2])
        elif action[0] == "abandon":
            monitor.abandon(begun[action[1]])
        else:
            seen.append(found(d.answer(begun[action[1]], action[2], action[3])))
        seen.append(knowledge(monitor))
    return seen


@pytest.mark.parametrize("sole_writer", [False, True], ids=["default", "sole-writer"])
def test_random_traffic_meets_the_same_verdicts_and_knowledge_with_or_without_the_shortcuts(
    sole_writer: bool,
) -> None:
    # time.monotonic is not replaced: no scenario here waits RESOLUTION between two stamps.
    decided = {"read": 0, "update": 0}
    for seed in range(500):
        actions = _random_traffic(seed, 40)
        counted = Counted(sole_writer)
        assert _play(counted, actions) == _play(Unhurried(sole_writer), actions), seed
        for kind, count in counted.taken.items():
            decided[kind] += count
    assert min(decided.values()) >= 100, decided  # both shortcuts were taken, often
