"""systemprompt.io's conversation routes (`/v1/conversation`), keyed by the spec's operationId."""

from __future__ import annotations

from collections.abc import Callable

from .errors import ApiError
from .request import Result, ValidatedRequest


def list_conversations(request: ValidatedRequest) -> Result:
    page = request.store.systemprompt_page(request.tenant, request.params["page"], request.params["limit"])
    return 200, [c.to_json(request.base_url) for c in page]


def get_conversation(request: ValidatedRequest) -> Result:
    conversation = request.store.systemprompt_get(request.tenant, request.params["uuid"].lower())
    if conversation is None:
        raise ApiError(404, f"conversation {request.params['uuid']!r} not found")
    return 200, conversation.to_json(request.base_url)


def update_conversation(request: ValidatedRequest) -> Result:
    conversation = request.store.systemprompt_update(request.tenant, request.params["uuid"].lower(), request.body)
    if conversation is None:
        raise ApiError(404, f"conversation {request.params['uuid']!r} not found")
    return 200, conversation.to_json(request.base_url)


HANDLERS: dict[str, Callable[[ValidatedRequest], Result]] = {
    "listConversations": list_conversations,
    "getConversation": get_conversation,
    "updateConversation": update_conversation,
}
