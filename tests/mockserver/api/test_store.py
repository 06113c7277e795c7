"""Property-based tests of the store: it behaves like a plain dict, and cursor pagination walks
every item exactly once, newest first, whatever happens between pages."""

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from mockserver.api.seed import normalize, runtype_create_defaults
from mockserver.api.store import Store, decode_cursor, encode_cursor
from mockserver.config import MockConfig

TENANTS = st.sampled_from(["t1", "t2"])
OWNERS = st.sampled_from([None, "o1", "o2"])


class StoreMachine(RuleBasedStateMachine):
    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self.store = Store()
        self.model: dict[str, dict[str, dict[str, Any]]] = {"t1": {}, "t2": {}}
        self.order: dict[str, list[str]] = {"t1": [], "t2": []}  # creation order
        self.walks: list[tuple[str, int, str | None, list[str]]] = []

    @rule(target=ids, tenant=TENANTS, title=st.text(max_size=5), owner=OWNERS)
    def create(self, tenant: str, title: str, owner: str | None) -> tuple[str, str]:
        fields = {"title": title} | ({"ownerId": owner} if owner else {})
        conversation = self.store.runtype_create(tenant, fields, runtype_create_defaults())
        assert conversation.id not in self.model[tenant]
        self.model[tenant][conversation.id] = conversation.to_json()
        self.order[tenant].append(conversation.id)
        return tenant, conversation.id

    @rule(
        ref=ids, title=st.none() | st.text(max_size=5), messages=st.none() | st.lists(st.just({"id": "m"}), max_size=2)
    )
    def update(self, ref: tuple[str, str], title: str | None, messages: list[Any] | None) -> None:
        tenant, cid = ref
        fields = {k: v for k, v in {"title": title, "messages": messages}.items() if v is not None}
        before = self.model[tenant].get(cid)
        updated = self.store.runtype_update(tenant, cid, fields)
        if before is None:
            assert updated is None
            return
        assert updated is not None
        after = updated.to_json()
        assert after["createdAt"] == before["createdAt"] and after["updatedAt"] > before["updatedAt"]
        assert {k: v for k, v in after.items() if k not in fields and k != "updatedAt"} == {
            k: v for k, v in before.items() if k not in fields and k != "updatedAt"
        }
        self.model[tenant][cid] = after

    @rule(ref=ids)
    def delete(self, ref: tuple[str, str]) -> None:
        tenant, cid = ref
        assert self.store.runtype_delete(tenant, cid) == (cid in self.model[tenant])
        self.model[tenant].pop(cid, None)

    @rule(ref=ids)
    def other_tenant_cannot_see(self, ref: tuple[str, str]) -> None:
        tenant, cid = ref
        other = "t2" if tenant == "t1" else "t1"
        assert self.store.runtype_get(other, cid) is None

    @rule(tenant=TENANTS, limit=st.integers(1, 4), owner=OWNERS)
    def start_walk(self, tenant: str, limit: int, owner: str | None) -> None:
        self.walks.append((tenant, limit, owner, self._expected(tenant, owner)))
        self._first_page_matches(len(self.walks) - 1)

    @precondition(lambda self: self.walks)
    @rule(data=st.data())
    def finish_walk_after_changes(self, data: st.DataObject) -> None:
        # Creations since the walk began must not appear; nothing is repeated.
        index = data.draw(st.integers(0, len(self.walks) - 1))
        tenant, limit, owner, snapshot = self.walks.pop(index)
        filters = {"ownerId": owner} if owner else {}
        seen: list[str] = []
        cursor = None
        for _ in range(1000):
            page = self.store.runtype_page(tenant, limit, cursor, filters)
            assert len(page.items) <= limit
            seen += [c.id for c in page.items]
            if not page.has_more:
                assert page.next_cursor is None
                break
            cursor = page.next_cursor
        assert len(seen) == len(set(seen))
        alive = set(self.model[tenant])
        # Everything still alive that existed at the start is walked, in newest-first order.
        assert [i for i in snapshot if i in alive] == [i for i in seen if i in set(snapshot)]
        assert set(seen) <= alive

    def _first_page_matches(self, index: int) -> None:
        tenant, limit, owner, snapshot = self.walks[index]
        filters = {"ownerId": owner} if owner else {}
        page = self.store.runtype_page(tenant, limit, None, filters)
        assert [c.id for c in page.items] == snapshot[:limit]

    def _expected(self, tenant: str, owner: str | None) -> list[str]:
        return [
            i
            for i in reversed(self.order[tenant])
            if i in self.model[tenant] and (owner is None or self.model[tenant][i]["ownerId"] == owner)
        ]

    @invariant()
    def store_matches_model(self) -> None:
        for tenant, conversations in self.model.items():
            for cid, expected in conversations.items():
                found = self.store.runtype_get(tenant, cid)
                assert found is not None and found.to_json() == expected
            page = self.store.runtype_page(tenant, 10_000, None, {})
            assert [c.id for c in page.items] == self._expected(tenant, None)

    @invariant()
    def dump_and_replace_round_trip(self) -> None:
        copy = Store()
        copy.replace(normalize(self.store.dump(), copy.clock, MockConfig().max_depth))
        assert copy.dump() == self.store.dump()


TestStoreMachine = StoreMachine.TestCase


def test_cursor_codec_round_trips_and_rejects_garbage() -> None:
    for seq in (0, 1, 12345, 10**12):
        assert decode_cursor(encode_cursor(seq)) == seq
    for garbage in ("", "x", "!!!", "YWJj", "\u00e9", "YzEuLTE", "YzEuYWJj"):  # YWJj = "abc", then "c1.-1", "c1.abc"
        assert decode_cursor(garbage) is None, garbage
