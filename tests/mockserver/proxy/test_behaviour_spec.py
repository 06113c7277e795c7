"""What the behaviour monitor reads from the specs: read, not written in Python."""

from __future__ import annotations

import specs
from mockserver.proxy.behaviour_spec import Kind, facts_of


def test_each_operation_says_what_it_does_to_the_state() -> None:
    kinds = {
        (api, op.operation_id): facts_of(api, op.operation_id).kind
        for api in specs.API_NAMES
        for op in specs.load(api).operations
    }
    assert set(kinds.values()) == set(Kind) - {Kind.OTHER}
    update = facts_of("runtype", "updateConversation")
    assert update.id_param == "id" and not update.uuid_ids and update.secured
    assert update.writes == ("title", "modelId", "systemPrompt", "ownerId", "metadata", "messages")
    assert update.maps == {"metadata"}  # a free-form object: merged or replaced (rules 3, 17)
    assert facts_of("systemprompt", "updateConversation").uuid_ids
    assert facts_of("systemprompt", "getConversation").credential_status_open  # its 401 is our rule 9
    assert not facts_of("runtype", "getConversation").credential_status_open


def test_documented_defaults_only() -> None:
    # create's defaults are documented; Runtype's page size is our rule 13, systemprompt.io's documented.
    assert dict(facts_of("runtype", "createConversation").defaults) == {"title": "New Chat", "metadata": {}}
    runtype, systemprompt = (
        facts_of("runtype", "listConversations").listing,
        facts_of("systemprompt", "listConversations").listing,
    )
    assert runtype is not None and systemprompt is not None
    assert runtype.limit_default is None and runtype.cursor and not runtype.page
    assert (systemprompt.limit_default, systemprompt.page_default, systemprompt.page) == (20, 1, True)
    assert runtype.filters == ("source", "surface_id", "client_token_id", "ownerId")
    assert runtype.items == ("conversations",) and systemprompt.items == ()
    assert runtype.item_pointer("title") == "runtype.yaml#/components/schemas/ConversationSummary/properties/title"
    assert facts_of("runtype", "getConversation").summary == ("id", "title", "modelId", "ownerId", "source")
