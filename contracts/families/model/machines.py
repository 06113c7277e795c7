"""The Hypothesis state machines, one per API: a rule per documented operation with every
documented parameter, drawn from the spec (bodies with any subset of their fields, every list
filter and page parameter), as either tenant when a second key is given; under --read-only
only the reads. Each rule builds an `Action` and hands it to `act`, which sends it through the
sequence's model and raises a `Violation` when a check fails (Hypothesis then shrinks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, precondition, rule

import specs

from ...errors import CannotRun
from . import inputs
from .core import Action
from .explore import Explorer, violation
from .inputs import Fresh, TagSlot
from .runtype import RuntypeModel
from .sequence import Run
from .systemprompt import MARK, SystempromptModel

# The body field our conversations are tagged by (what the list's ownerId filter reads).
OWNER = "ownerId"
# Conversations one sequence creates at most: its steps then work on them, not on new ones.
MOST_CREATED = 3
# Conversations a rule can pick among (an index drawn, wrapped to what is known).
PICK = st.integers(0, 31)
# How many pages one walk asks for in a row (no other step between them), at most: a walk
# ends at its last page.
PAGES = st.sampled_from((5, 1, 2))
# A rare choice, shrinking to the common one: the other tenant acting, an upper-case uuid.
RARELY = st.sampled_from((False, False, False, True))
# A frequent one, still shrinking to leaving it out.
OFTEN = st.sampled_from((False, True, True))
# What follows a write at once: nothing, a read, a list by the owner tag, or both.
LOOKS = st.sampled_from(("none", "read", "list", "both"))
# The page size of that list: one a page (a walk), or the server's default.
PAGE = st.sampled_from((None, 1))
# The most pages such a walk asks for.
WALK = 4
# What a write does to a conversation: mostly update, sometimes delete.
WRITES = st.sampled_from(("updateConversation", "updateConversation", "updateConversation", "deleteConversation"))
# Which first page a list step asks for.
LISTS = st.sampled_from(("query", "owned", "again"))


@dataclass(frozen=True)
class Owner:
    """An owner tag as a list filter: the sender's own (`theirs` False) or the other tenant's."""

    theirs: bool
    slot: TagSlot


def listed_before(machine: ModelMachine) -> bool:
    """Two keys, and a first page to ask again with the other."""
    return len(machine.x.tenants) > 1 and machine.last_list is not None


def walking(machine: ModelMachine) -> bool:
    """Some tenant has a walk with a page left to follow."""
    return any(not w.done for w in getattr(machine.run.model, "walks", {}).values())


class ModelMachine(RuleBasedStateMachine):
    x: ClassVar[Explorer]

    def __init__(self) -> None:
        super().__init__()
        self.run: Run = self.x.new_run()
        self.last_list: Action | None = None  # the last first page asked for

    def act(self, action: Action) -> None:
        """Send `action` (unless the budget is spent or the run halted) and judge it."""
        if self.x.spent():
            return
        try:
            step = self.run.run(action)
        except CannotRun as exc:  # the run's deadline: stop sending, report what was found
            self.x.halted = exc
            return
        except Exception as exc:
            self.x.halted = exc
            return
        if step is None:
            return
        if action.op == "listConversations" and not action.follow:
            self.last_list = action
        self.x.judged(step)
        problem = Run.failing(step)
        if problem is not None:
            self.x.found(problem, self.run.steps)
            raise violation(problem.check)(problem.expected)

    def teardown(self) -> None:
        self.x.tidy(self.run)

    def next_page(self, which: int) -> None:
        walks = getattr(self.run.model, "walks", {})
        open_walks = [t for t in self.x.tenants if t in walks and not walks[t].done]
        if open_walks:
            self.act(Action("listConversations", open_walks[which % len(open_walks)], follow=True))

    def list_as_other(self) -> None:
        """The last first page again, word for word, with the other tenant's key (RESTler's
        namespace checker): the answer must be the other tenant's own."""
        last = self.last_list
        if last is not None and len(self.x.tenants) > 1:
            other = next(t for t in self.x.tenants if t != last.tenant)
            self.act(Action(last.op, other, params=last.params))

    def concrete(self, tenant: str, value: Any) -> Any:
        """Tag slots and fresh values made this run's strings, for the sending tenant."""
        if isinstance(value, TagSlot):
            return self.x.owner_tag(tenant, value)
        if isinstance(value, Owner):
            whose = tenant if not value.theirs else next(t for t in self.x.tenants if t != tenant)
            return self.x.owner_tag(whose, value.slot)
        if isinstance(value, Fresh):
            return self.x.fresh(value.name)
        if isinstance(value, dict):
            return {k: self.concrete(tenant, v) for k, v in value.items()}
        return value


def _special(spec: specs.Spec) -> dict[str, Any]:
    return {
        "metadata": lambda schema: inputs.metadata(),
        "messages": lambda schema: inputs.messages(schema.get("items", {})),
    }


def _body(spec: specs.Spec, operation_id: str, required: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies with any subset of the documented fields. The owner field is a tag of the
    sender: on a create always (clean-up finds a conversation by it when the create's answer
    is lost), on an update when drawn."""
    properties = (spec.operation(operation_id).request_schema() or {}).get("properties", {})
    fields = inputs.body_fields(properties, OWNER, _special(spec))
    always = {OWNER: fields.pop(OWNER)} if required and OWNER in fields else {}
    return st.tuples(st.fixed_dictionaries(always), _subsets(fields)).map(lambda parts: {**parts[0], **parts[1]})


def _subsets(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the fields, each with its strategy's value. The subset is drawn as a
    list of names (Hypothesis draws an all-optional dictionary mostly all or nothing)."""
    names = st.lists(st.sampled_from(sorted(fields)), max_size=len(fields), unique=True) if fields else st.just([])
    return names.flatmap(lambda chosen: st.fixed_dictionaries({n: fields[n] for n in chosen}))


def _limits(schema: dict[str, Any], largest: Any) -> list[int]:
    """Page sizes at and next to the parameter's bounds: its minimum, its default, the
    largest page our mock serves (x-mock-max-limit) and one past it; the smallest ones
    drawn most (they make walks of several pages)."""
    low = int(schema.get("minimum", 1))
    values = {low, low + 1}
    for bound in (schema.get("default"), largest, schema.get("maximum")):
        if isinstance(bound, int):
            values |= {bound - 1, bound, bound + 1}
    ordered = sorted(v for v in values if v >= low)
    return [low, low + 1, low, low + 1, *ordered]


def _list_params(spec: specs.Spec, tenants: int) -> st.SearchStrategy[dict[str, Any]]:
    """A first page's query: any subset of the documented parameters (the cursor comes from
    a previous page); filters a conversation of ours matches or one no conversation has."""
    listing = spec.operation("listConversations")
    create = (spec.operation("createConversation").request_schema() or {}).get("properties", {})
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for param in listing.parameters:
        name, schema = param["name"], param.get("schema", {})
        if param["in"] != "query" or name == "cursor":
            continue
        if name == "limit":
            optional[name] = st.sampled_from(_limits(schema, param.get("x-mock-max-limit")))
        elif "enum" in schema:
            optional[name] = st.sampled_from(schema["enum"])
        elif name in create:  # a field our creates set: filter by a tag of ours or the other's
            theirs = st.booleans() if tenants > 1 else st.just(False)
            optional[name] = st.builds(Owner, theirs, inputs.tag_slots(create[name]))
        else:
            optional[name] = st.just(Fresh(name))
    return _subsets(optional)


def runtype_machine(explorer: Explorer) -> type[ModelMachine]:
    spec = specs.load("runtype")
    tenants = st.sampled_from(explorer.tenants)
    cross = RARELY if len(explorer.tenants) > 1 else st.just(False)
    creates, updates = _body(spec, "createConversation", True), _body(spec, "updateConversation", False)
    listings = _list_params(spec, len(explorer.tenants))
    limit = spec.operation("listConversations").parameter("limit") or {}
    small = sorted(set(_limits(limit.get("schema", {}), None)[:2]))

    def writes(self: RuntypeMachine) -> bool:
        return self.x.writes

    class RuntypeMachine(ModelMachine):
        x = explorer
        conversations = Bundle("conversations")

        def __init__(self) -> None:
            super().__init__()
            self.handles = 0

        @property
        def model(self) -> RuntypeModel:
            model = self.run.model
            assert isinstance(model, RuntypeModel)
            return model

        def actor(self, handle: int, cross: bool) -> str | None:
            conv = self.model.convs.get(handle)
            if conv is None:
                return None
            return conv.tenant if not cross else self.model.other(conv.tenant)

        def look(self, handle: int, how: str, page: int | None) -> None:
            """After a write, what a client does next (RESTler's checkers do the same): read
            the conversation back, and/or list its owner's conversations by its owner tag,
            page after page (`page` at a time)."""
            conv = self.model.convs.get(handle)
            if conv is None:
                return
            if how in ("read", "both"):
                self.act(Action("getConversation", conv.tenant, handle=handle))
            owner = (conv.state or {}).get(OWNER)
            if how in ("list", "both") and isinstance(owner, str):
                query = {OWNER: owner} | ({"limit": page} if page is not None else {})
                self.act(Action("listConversations", conv.tenant, params=query))
                for _ in range(WALK - 1):
                    self.act(Action("listConversations", conv.tenant, follow=True))

        @precondition(lambda self: self.x.writes and self.handles < MOST_CREATED)
        @rule(target=conversations, tenant=tenants, body=creates, same=OFTEN, then=LOOKS, page=PAGE)
        def create(self, tenant: str, body: dict[str, Any], same: bool, then: str, page: int | None) -> int:
            """Create with any subset of the fields; often as the owner of the last conversation
            made, with its owner tag, so that a filtered walk has several pages."""
            handle, self.handles = self.handles, self.handles + 1
            made = [c for c in self.model.convs.values() if c.state]
            if same and made:  # the last conversation's owner: its tenant, its tag
                tenant, body = made[-1].tenant, {**body, OWNER: (made[-1].state or {}).get(OWNER, body.get(OWNER))}
            self.act(Action("createConversation", tenant, handle=handle, body=self.concrete(tenant, body)))
            self.look(handle, then, page)
            return handle

        @rule(handle=conversations, cross=cross)
        def read(self, handle: int, cross: bool) -> None:
            """Get a conversation of this sequence, as its owner or as the other tenant."""
            tenant = self.actor(handle, cross)
            if tenant is not None:
                self.act(Action("getConversation", tenant, handle=handle))

        @precondition(writes)
        @rule(handle=conversations, op=WRITES, cross=cross, body=updates, then=LOOKS, page=PAGE)
        def write(self, handle: int, op: str, cross: bool, body: dict[str, Any], then: str, page: int | None) -> None:
            """Update (mostly) or delete a conversation of this sequence, as its owner or not;
            often read back by the owner at once (read your writes)."""
            tenant, owner = self.actor(handle, cross), self.actor(handle, False)
            if tenant is None or owner is None:
                return
            if op == "updateConversation" and tenant != owner:
                # The other tenant's update carries its own tag: seen by the owner, proof.
                body = {**body, OWNER: TagSlot(0, 0)}
            sent = self.concrete(tenant, body) if op == "updateConversation" else None
            self.act(Action(op, tenant, handle=handle, body=sent))
            self.look(handle, then, page)

        @rule(
            tenant=tenants,
            kind=LISTS,
            params=listings,
            which=PICK,
            limit=st.sampled_from([*small, None]),
            pages=PAGES,
            cross=cross,
        )
        def list_pages(
            self, tenant: str, kind: str, params: dict[str, Any], which: int, limit: int | None, pages: int, cross: bool
        ) -> None:
            """A first page and up to `pages - 1` more with nothing in between: of any query,
            filtered by the owner tag a conversation of ours has now, or the last first page
            again word for word with the other key (RESTler's namespace checker)."""
            query = self.concrete(tenant, params)
            owned = [c for c in self.model.convs.values() if isinstance((c.state or {}).get(OWNER), str)]
            if kind == "owned" and owned:
                conv = owned[which % len(owned)]
                tenant = conv.tenant if not cross else self.model.other(conv.tenant)
                query = {OWNER: (conv.state or {})[OWNER]} | ({"limit": limit} if limit is not None else {})
            elif kind == "again" and self.last_list is not None and len(self.x.tenants) > 1:
                tenant = self.model.other(self.last_list.tenant)
                query = self.last_list.params
            self.act(Action("listConversations", tenant, params=query))
            for _ in range(pages - 1):
                self.act(Action("listConversations", tenant, follow=True))

        @precondition(walking)
        @rule(which=PICK)
        def list_next_page(self, which: int) -> None:
            """The next page of an open walk, after whatever steps came since its last."""
            self.next_page(which)

        @precondition(lambda self: any(self.model.listed.values()))
        @rule(tenant=tenants, which=PICK)
        def get_listed(self, tenant: str, which: int) -> None:
            self.act(Action("getConversation", tenant, listed=which))

        # Hypothesis draws among rules evenly: the same rule under more names is drawn more.
        # Writes and lists (between them, what most faults need to show) twice as often.
        write_again = write
        list_again = list_pages

    return RuntypeMachine


def _page_params(listing: specs.Operation) -> st.SearchStrategy[dict[str, Any]]:
    """A first page's query: mostly a walk from page 1 with a small or default-sized page;
    else any page and limit at and next to the default and the bound a page needs (1),
    and below it (the server's choice, rule 15)."""
    schemas = {p["name"]: p.get("schema", {}) for p in listing.parameters if p["in"] == "query"}

    def around(name: str) -> list[int]:
        default = schemas[name].get("default", 1)
        return sorted({1, 2, default - 1, default, default + 1} - {0})

    walk = {n: st.sampled_from([1, 2, 1, 2, *around(n)]) for n in schemas if n != "page"}
    anything = {n: st.sampled_from([*around(n), 0, -1]) for n in schemas}
    return st.one_of(st.fixed_dictionaries({}, optional=walk), st.fixed_dictionaries({}, optional=anything))


def systemprompt_machine(explorer: Explorer) -> type[ModelMachine]:
    spec = specs.load("systemprompt")
    listings = _page_params(spec.operation("listConversations"))
    tenants = st.sampled_from(explorer.tenants)
    updates = _body(spec, "updateConversation", False)

    def writes(self: SystempromptMachine) -> bool:
        return self.x.writes and self.x.writable is not None

    class SystempromptMachine(ModelMachine):
        x = explorer

        @property
        def model(self) -> SystempromptModel:
            model = self.run.model
            assert isinstance(model, SystempromptModel)
            return model

        @staticmethod
        def spelled(uuid: str, upper: bool) -> str:
            return uuid.upper() if upper else uuid

        @rule(tenant=tenants, params=listings, pages=PAGES)
        def list_pages(self, tenant: str, params: dict[str, Any], pages: int) -> None:
            self.act(Action("listConversations", tenant, params=params))
            for _ in range(pages - 1):
                self.act(Action("listConversations", tenant, follow=True))

        @precondition(walking)
        @rule(which=PICK)
        def list_next_page(self, which: int) -> None:
            """The next page of an open walk, after whatever steps came since its last."""
            self.next_page(which)

        @precondition(listed_before)
        @rule()
        def same_list_other_key(self) -> None:
            self.list_as_other()

        @rule(tenant=tenants, which=PICK, upper=RARELY)
        def get(self, tenant: str, which: int, upper: bool) -> None:
            known = self.model.candidates(tenant)
            if known:
                self.act(Action("getConversation", tenant, uuid=self.spelled(known[which % len(known)], upper)))

        @precondition(writes)
        @rule(tenant=tenants, upper=RARELY, body=updates, mark=st.booleans(), then=LOOKS, page=PAGE)
        def update(
            self, tenant: str, upper: bool, body: dict[str, Any], mark: bool, then: str, page: int | None
        ) -> None:
            """The main key writes its one writable conversation; the other key tries to.
            Then often what a client does next: the main key reads it back (by its uuid as
            listed) and/or walks its list."""
            assert self.x.writable is not None
            if mark:  # a value unique to this tenant's writes: proof if the other key sees it
                body = {**body, "metadata": {**body.get("metadata", {}), MARK: self.x.marker(tenant)}}
            self.act(Action("updateConversation", tenant, uuid=self.spelled(self.x.writable, upper), body=body))
            if then in ("read", "both"):
                self.act(Action("getConversation", "main", uuid=self.x.writable))
            if then in ("list", "both"):
                self.act(Action("listConversations", "main", params={"limit": page} if page else {}))
                for _ in range(WALK - 1):
                    self.act(Action("listConversations", "main", follow=True))

        update_again = update  # drawn twice as often (Hypothesis draws among rules evenly)

    return SystempromptMachine


MACHINES = {"runtype": runtype_machine, "systemprompt": systemprompt_machine}
