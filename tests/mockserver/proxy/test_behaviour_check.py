"""The monitor's checks, each against exchanges made in-process: what proves a violation, what
is only an observation (a write the proxy did not see could explain it, or the docs leave the
choice open), what is no finding at all; and the exchanges each finding rests on."""

from __future__ import annotations

import time

import pytest

from mockserver.proxy.monitor import Monitor
from specs.timestamps import RESOLUTION
from tests.mockserver.proxy.exchanges import Driver, conversation, page, rules, summary

RT = "runtype"
SP = "systemprompt"
DOC = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


@pytest.fixture(params=[False, True], ids=["default", "sole-writer"])
def driver(request: pytest.FixtureRequest) -> Driver:
    return Driver(Monitor(sole_writer=request.param))


def test_invalid_input_answered_2xx_is_the_servers_violation_naming_the_rule() -> None:
    d = Driver()
    found = d.send(RT, "createConversation", 201, conversation("c1", title="x" * 500), body={"title": "x" * 501})
    (finding,) = found
    assert (finding.rule, finding.observation) == ("acceptedInvalidInput", False)
    assert finding.pointer == "runtype.yaml#/components/schemas/Title/maxLength"
    assert "maxLength" in finding.message and "501" in finding.message
    # Refused, it is only the client's (the request check's) finding.
    assert d.send(RT, "createConversation", 400, {"error": "bad"}, body={"title": "x" * 501}) == []


@pytest.mark.parametrize(
    ("api", "status", "expected"),
    [
        (RT, 200, [("credentialRequired", False)]),
        (RT, 401, []),
        (RT, 403, [("credentialRequired", False)]),  # rule 7: a missing key is a 401
        (SP, 200, [("credentialRequired", False)]),
        (SP, 403, [("credentialRequired", True)]),  # systemprompt.io's 401 is only our rule 9
        (RT, 500, []),
    ],
)
def test_a_request_without_a_credential(api: str, status: int, expected: list[tuple[str, bool]]) -> None:
    found = Driver().send(api, "listConversations", status, [] if api == SP else page(), key=None)
    assert rules(found) == expected


def test_create_shows_what_was_sent_and_the_documented_defaults() -> None:
    d = Driver()
    sent = {"title": "a", "metadata": {"k": 1}}
    assert d.send(RT, "createConversation", 201, conversation("c1", title="a", metadata={"k": 1}), body=sent) == []
    (dropped,) = d.send(RT, "createConversation", 201, conversation("c2", title="a", metadata={}), body=sent)
    assert (dropped.rule, dropped.observation, dropped.value) == ("writeShown", False, {})
    (default,) = d.send(RT, "createConversation", 201, conversation("c3", title=""), body={})
    assert default.rule == "defaultApplied" and "New Chat" in default.message
    assert default.pointer.endswith("/CreateConversationRequest/properties/title/default")
    # The server may add to what it stores (a message's timestamp): shown is enough.
    d.send(RT, "createConversation", 201, conversation("c4"), body={})
    answer = conversation(
        "c4", messages=[{"id": "m", "role": "user", "content": "x", "timestamp": "2026-01-01T00:00:00Z"}]
    )
    assert (
        d.send(
            RT,
            "updateConversation",
            200,
            answer,
            item="c4",
            body={"messages": [{"id": "m", "role": "user", "content": "x"}]},
        )
        == []
    )


def test_an_update_that_resets_what_it_was_not_sent_contradicts_the_last_answer(driver: Driver) -> None:
    created = driver.send(RT, "createConversation", 201, conversation("c1", modelId="m1"), body={"modelId": "m1"})
    assert created == []
    (reset,) = driver.send(
        RT, "updateConversation", 200, conversation("c1", title="b", modelId=None), item="c1", body={"title": "b"}
    )
    sole = driver.monitor.sole_writer
    assert (reset.rule, reset.observation, reset.rests_on) == ("partialUpdate", not sole, (1,))
    assert "modelId" in reset.message and "#1" in reset.message
    assert ("could explain it" in reset.message) is not sole


def test_metadata_sent_in_part_may_be_merged_or_replaced_never_changed() -> None:
    d = Driver(Monitor(sole_writer=True))
    d.send(SP, "getConversation", 200, {"id": DOC, "message": [], "metadata": {"a": 1, "b": 2}, "_link": "x"}, item=DOC)
    merged = {"id": DOC, "message": [], "metadata": {"a": 1, "b": 2, "c": 3}, "_link": "x"}
    assert d.send(SP, "updateConversation", 200, merged, item=DOC, body={"metadata": {"c": 3}}) == []
    replaced = {"id": DOC, "message": [], "metadata": {"d": 4}, "_link": "x"}  # rule 17: another choice
    assert d.send(SP, "updateConversation", 200, replaced, item=DOC, body={"metadata": {"d": 4}}) == []
    d.send(
        SP, "updateConversation", 200, {**replaced, "metadata": {"d": 4, "e": 5}}, item=DOC, body={"metadata": {"e": 5}}
    )
    changed = {"id": DOC, "message": [], "metadata": {"d": 40, "f": 6}, "_link": "x"}
    (finding,) = d.send(SP, "updateConversation", 200, changed, item=DOC, body={"metadata": {"f": 6}})
    assert finding.rule == "partialUpdate" and "metadata.d" in finding.message


def test_a_read_after_a_write_shows_the_write(driver: Driver) -> None:
    driver.send(RT, "createConversation", 201, conversation("c1"), body={})
    driver.send(RT, "updateConversation", 200, conversation("c1", title="new"), item="c1", body={"title": "new"})
    (stale,) = driver.send(RT, "getConversation", 200, conversation("c1"), item="c1")
    assert (stale.rule, stale.rests_on, stale.observation) == ("readShowsWrite", (2,), not driver.monitor.sole_writer)
    # Once told, the tracker takes the read as the state: the next read is judged against it.
    assert driver.send(RT, "getConversation", 200, conversation("c1"), item="c1") == []


def test_timestamps_created_at_fixed_updated_at_never_back_and_moving_on_updates() -> None:
    d = Driver()
    d.send(RT, "createConversation", 201, conversation("c1", createdAt="2026-01-01T00:00:00Z"), body={})
    (moved,) = d.send(RT, "getConversation", 200, conversation("c1", createdAt="2026-01-02T00:00:00+00:00"), item="c1")
    assert (moved.rule, moved.observation, moved.rests_on) == ("createdAtFixed", False, (1,))
    assert moved.pointer == "runtype.yaml#/components/schemas/Conversation/properties/createdAt"
    late = {"createdAt": "2026-01-02T00:00:00Z", "updatedAt": "2026-01-03T00:00:00Z"}
    d.send(RT, "updateConversation", 200, conversation("c1", title="x", **late), item="c1", body={"title": "x"})
    early = {**late, "updatedAt": "2026-01-02T12:00:00Z"}
    (back,) = d.send(RT, "getConversation", 200, conversation("c1", title="x", **early), item="c1")
    assert (back.rule, back.observation, back.rests_on) == ("updatedAtMoves", False, (3,))
    # Equal stamps within the resolution may be a clock read to the second; past it, proof.
    same = {**late, "updatedAt": "2026-01-03T00:00:00Z"}
    d.send(RT, "getConversation", 200, conversation("c1", title="x", **same), item="c1")
    assert (
        d.send(RT, "updateConversation", 200, conversation("c1", title="y", **same), item="c1", body={"title": "y"})
        == []
    )
    time.sleep(RESOLUTION)
    (frozen,) = d.send(
        RT, "updateConversation", 200, conversation("c1", title="z", **same), item="c1", body={"title": "z"}
    )
    assert frozen.rule == "updatedAtMoves" and "stayed" in frozen.message


def test_delete_then_served_and_exists_then_404(driver: Driver) -> None:
    driver.send(RT, "createConversation", 201, conversation("c1"), body={})
    assert driver.send(RT, "deleteConversation", 200, {"success": True}, item="c1") == []
    (served,) = driver.send(RT, "getConversation", 200, conversation("c1"), item="c1")
    assert (served.rule, served.rests_on) == ("goneAfterDelete", (2,))
    driver.send(RT, "createConversation", 201, conversation("c2"), body={})
    (lost,) = driver.send(RT, "getConversation", 404, {"error": "not_found"}, item="c2")
    assert (lost.rule, lost.rests_on, lost.observation) == ("existsUntilDeleted", (4,), not driver.monitor.sole_writer)
    assert driver.send(RT, "deleteConversation", 404, {"error": "not_found"}, item="c2") == []


def test_a_list_page_matches_its_own_query() -> None:
    d = Driver()
    listed = page(summary("a", ownerId="o1"), summary("b", ownerId="o2"), summary("c", ownerId=None))
    (owner,) = d.send(RT, "listConversations", 200, listed, query="ownerId=o1")
    assert (owner.rule, owner.observation) == ("listFilter", False) and "2 item(s)" in owner.message
    assert owner.pointer == "runtype.yaml#/paths/~1v1~1conversations/get/parameters/3"
    (limit,) = d.send(RT, "listConversations", 200, listed, query="limit=2")
    assert limit.rule == "listLimit"
    assert d.send(RT, "listConversations", 200, listed, query="limit=3") == []
    # Runtype's default page size is our rule 13, systemprompt.io's is documented (20).
    many = page(*(summary(f"i{n}") for n in range(25)))
    assert d.send(RT, "listConversations", 200, many) == []
    items = [
        {"id": f"{n:08d}-0000-4000-8000-000000000000", "message": [], "metadata": {}, "_link": "x"} for n in range(21)
    ]
    (default,) = d.send(SP, "listConversations", 200, items)
    assert default.rule == "listLimit" and "default" in default.message


def test_a_whole_walk_of_the_list_holds_what_exists_and_never_repeats(driver: Driver) -> None:
    for ident in ("a", "b", "c"):
        driver.send(RT, "createConversation", 201, conversation(ident, ownerId="o"), body={"ownerId": "o"})
    driver.send(RT, "createConversation", 201, conversation("x", ownerId="other"), body={"ownerId": "other"})
    assert (
        driver.send(
            RT, "listConversations", 200, page(summary("c"), summary("b"), cursor="k1"), query="ownerId=o&limit=2"
        )
        == []
    )
    last = page(summary("b"), summary("a"))
    (repeat,) = driver.send(RT, "listConversations", 200, last, query="ownerId=o&limit=2&cursor=k1")
    assert (repeat.rule, repeat.rests_on) == ("pageRepeat", (5,))
    # A walk that leaves one out: "a" was shown to exist by its create (#1), and matches.
    assert driver.send(RT, "listConversations", 200, page(summary("c"), cursor="k2"), query="ownerId=o") == []
    (missing,) = driver.send(RT, "listConversations", 200, page(summary("b")), query="ownerId=o&cursor=k2")
    assert (missing.rule, missing.rests_on, missing.observation) == (
        "listMembership",
        (1, 7),
        not driver.monitor.sole_writer,
    )
    assert "'a'" in missing.message and "'x'" not in missing.message
    # A page of a walk the proxy did not follow from its start proves nothing about membership.
    assert driver.send(RT, "listConversations", 200, page(summary("b")), query="ownerId=o&cursor=unseen") == []


def test_a_listed_summary_agrees_with_what_the_last_exchange_showed(driver: Driver) -> None:
    driver.send(RT, "createConversation", 201, conversation("a"), body={})
    driver.send(RT, "updateConversation", 200, conversation("a", title="new"), item="a", body={"title": "new"})
    (stale,) = driver.send(RT, "listConversations", 200, page(summary("a", title="t")))
    assert (stale.rule, stale.rests_on) == ("listShowsState", (2,))
    driver.send(RT, "deleteConversation", 200, {"success": True}, item="a")
    (gone,) = driver.send(RT, "listConversations", 200, page(summary("a", title="t")))
    assert gone.rule == "goneAfterDelete"


def test_nothing_is_judged_across_a_write_in_flight() -> None:
    """A read answered after a write was forwarded may show the state before or after it."""
    d = Driver(Monitor(sole_writer=True))
    d.send(RT, "createConversation", 201, conversation("a"), body={})
    update = d.start(RT, "updateConversation", item="a", body={"title": "new"})
    read = d.start(RT, "getConversation", item="a")
    assert d.answer(update, 200, conversation("a", title="new", updatedAt="2026-01-02T00:00:00Z")) == []
    assert d.answer(read, 200, conversation("a")) == []  # served before the update: no contradiction
    assert (
        d.send(RT, "getConversation", 200, conversation("a", title="new", updatedAt="2026-01-02T00:00:00Z"), item="a")
        == []
    )
    # An update abandoned (no answer) may have been applied: what was known of it is forgotten.
    lost = d.start(RT, "updateConversation", item="a", body={"title": "lost?"})
    d.monitor.abandon(lost)
    assert (
        d.send(RT, "getConversation", 200, conversation("a", title="lost?", updatedAt="2026-01-03T00:00:00Z"), item="a")
        == []
    )


def test_another_credentials_write_to_the_same_id_is_not_an_unseen_write() -> None:
    """Two keys may be one account: a write by one may change what the other reads."""
    d = Driver(Monitor(sole_writer=True))
    d.send(RT, "createConversation", 201, conversation("a"), body={})
    d.send(
        RT,
        "updateConversation",
        200,
        conversation("a", title="by bob"),
        item="a",
        body={"title": "by bob"},
        key="demo-bob",
    )
    assert d.send(RT, "getConversation", 200, conversation("a", title="by bob"), item="a") == []


def test_uuids_spelled_otherwise_are_not_judged_as_the_same_conversation() -> None:
    d = Driver(Monitor(sole_writer=True))
    body = {"id": DOC, "message": [], "metadata": {"a": 1}, "_link": "x"}
    d.send(SP, "getConversation", 200, body, item=DOC)
    assert d.send(SP, "getConversation", 404, {"error": "not_found"}, item=DOC.upper()) == []  # rule 16 is ours
    d.send(SP, "updateConversation", 200, {**body, "metadata": {"a": 2}}, item=DOC.upper(), body={"metadata": {"a": 2}})
    assert d.send(SP, "getConversation", 200, {**body, "metadata": {"a": 2}}, item=DOC) == []


def test_an_update_of_a_conversation_not_yet_seen_is_learnt() -> None:
    d = Driver(Monitor(sole_writer=True))
    d.send(RT, "updateConversation", 200, conversation("u1", title="new"), item="u1", body={"title": "new"})
    (stale,) = d.send(RT, "getConversation", 200, conversation("u1", title="old"), item="u1")
    assert (stale.rule, stale.rests_on) == ("readShowsWrite", (1,))


def test_a_list_page_repeated_after_a_change_is_judged_again(driver: Driver) -> None:
    """The same page bytes for the same query are judged again whenever anything tracked changed
    in between: the repeat of a clean page is waved through only when nothing did."""
    driver.send(RT, "createConversation", 201, conversation("a"), body={})
    listed = page(summary("a"))
    assert driver.send(RT, "listConversations", 200, listed) == []
    assert driver.send(RT, "listConversations", 200, listed) == []  # nothing changed: still clean
    # A write in between makes the very same bytes stale.
    driver.send(RT, "updateConversation", 200, conversation("a", title="new"), item="a", body={"title": "new"})
    (stale,) = driver.send(RT, "listConversations", 200, listed)
    assert (stale.rule, stale.rests_on) == ("listShowsState", (4,))
    # A page with a finding is never waved through: the repeat has it again.
    many = page(summary("a", title="new"), summary("z"))
    assert rules(driver.send(RT, "listConversations", 200, many, query="limit=1")) == [("listLimit", False)]
    assert rules(driver.send(RT, "listConversations", 200, many, query="limit=1")) == [("listLimit", False)]


def test_a_list_page_repeated_after_a_create_it_could_not_judge_is_judged_again(driver: Driver) -> None:
    """A create answered while the first page was in flight is not held against that page (it may
    have been listed before the create); against the same page sent again, it is."""
    driver.send(RT, "createConversation", 201, conversation("a"), body={})
    listed = page(summary("a"))
    first = driver.start(RT, "listConversations")
    driver.send(RT, "createConversation", 201, conversation("b"), body={})
    assert driver.answer(first, 200, listed) == []
    (missing,) = driver.send(RT, "listConversations", 200, listed)
    assert (missing.rule, missing.observation) == ("listMembership", not driver.monitor.sole_writer)
    assert "'b'" in missing.message
    # And a delete in between: the same bytes now list a conversation shown gone.
    driver.send(RT, "deleteConversation", 200, {"success": True}, item="a")
    found = driver.send(RT, "listConversations", 200, listed)
    assert "goneAfterDelete" in {f.rule for f in found}


def test_an_update_is_held_to_every_rule_its_quick_checks_decide(driver: Driver) -> None:
    """The update checks ask their deciding conditions first (existence, timestamps, a text sent
    compared by ==): each case where one of them can fire is still caught on an update."""
    stamps = {"createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z"}
    driver.send(RT, "createConversation", 201, conversation("c1", **stamps), body={})
    # A text sent shown as another text, or as a number: not shown.
    (other,) = driver.send(
        RT, "updateConversation", 200, conversation("c1", title="b", **stamps), item="c1", body={"title": "a"}
    )
    assert (other.rule, other.observation, other.value) == ("writeShown", False, "b")
    (number,) = driver.send(
        RT, "updateConversation", 200, conversation("c1", title=1, **stamps), item="c1", body={"title": "1"}
    )
    assert (number.rule, number.value) == ("writeShown", 1)
    # createdAt changed, updatedAt gone back: on an update too.
    moved = {"createdAt": "2026-01-01T00:00:01Z", "updatedAt": "2026-01-03T00:00:00Z"}
    found = driver.send(
        RT, "updateConversation", 200, conversation("c1", title="c", **moved), item="c1", body={"title": "c"}
    )
    assert rules(found) == [("createdAtFixed", False)]
    back = {**moved, "updatedAt": "2026-01-02T12:00:00Z"}
    found = driver.send(
        RT, "updateConversation", 200, conversation("c1", title="d", **back), item="c1", body={"title": "d"}
    )
    assert rules(found) == [("updatedAtMoves", False)]
    # Shown to exist, then answered 404 to an update; deleted, then an update answered 2xx.
    sole = driver.monitor.sole_writer
    found = driver.send(RT, "updateConversation", 404, {"error": "not_found"}, item="c1", body={"title": "e"})
    assert rules(found) == [("existsUntilDeleted", not sole)]
    driver.send(RT, "createConversation", 201, conversation("c2"), body={})
    assert driver.send(RT, "deleteConversation", 200, {"success": True}, item="c2") == []
    found = driver.send(RT, "updateConversation", 200, conversation("c2", title="f"), item="c2", body={"title": "f"})
    assert rules(found) == [("goneAfterDelete", not sole)]
