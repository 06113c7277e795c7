"""Runtype's conversation routes (`/v1/conversations`), keyed by the spec's operationId."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from specs.text import shorten

from .errors import ApiError
from .request import Result, ValidatedRequest
from .runtype_fields import runtype_fields
from .seed import runtype_create_defaults

# Every other query parameter the spec declares on list is a filter on the field of that name.
_PAGING = frozenset({"limit", "cursor"})


def _not_found(conversation_id: str) -> ApiError:
    shown = shorten(conversation_id, 81)
    return ApiError(404, f"conversation {shown!r} not found")


def list_conversations(request: ValidatedRequest) -> Result:
    params = request.params
    # Default and cap are the mock's choices, declared in the spec (docs/behaviour.md rule 13);
    # a larger page is cut to the cap and `pagination.limit` says so.
    fields = runtype_fields()
    limit = min(params.get("limit", fields.default_limit), fields.max_limit)
    filters = {name: value for name, value in params.items() if name not in _PAGING}
    page = request.store.runtype_page(request.tenant, limit, params.get("cursor"), filters)
    pagination: dict[str, Any] = {"limit": limit, "hasMore": page.has_more, "nextCursor": page.next_cursor}
    return 200, {"conversations": [c.summary() for c in page.items], "pagination": pagination}


def create_conversation(request: ValidatedRequest) -> Result:
    conversation = request.store.runtype_create(request.tenant, request.body, runtype_create_defaults())
    return 201, conversation.to_json()


def get_conversation(request: ValidatedRequest) -> Result:
    conversation = request.store.runtype_get(request.tenant, request.params["id"])
    if conversation is None:
        raise _not_found(request.params["id"])
    return 200, conversation.to_json()


def update_conversation(request: ValidatedRequest) -> Result:
    conversation = request.store.runtype_update(request.tenant, request.params["id"], request.body)
    if conversation is None:
        raise _not_found(request.params["id"])
    return 200, conversation.to_json()


def delete_conversation(request: ValidatedRequest) -> Result:
    if not request.store.runtype_delete(request.tenant, request.params["id"]):
        raise _not_found(request.params["id"])
    return 200, {"success": True}


HANDLERS: dict[str, Callable[[ValidatedRequest], Result]] = {
    "listConversations": list_conversations,
    "createConversation": create_conversation,
    "getConversation": get_conversation,
    "updateConversation": update_conversation,
    "deleteConversation": delete_conversation,
}
