"""One row per documented fact (docs/behaviour.md, "What the documentation states"),
asserting the spec states it.

This table is the reviewable list of what the specs promise. Facts that are behaviour
rather than shape (partial update, tenant isolation, ...) cannot be said in OpenAPI; the
mock's tests and the conformance suite's semantic checks hold those.
"""

from collections.abc import Callable
from typing import Any

import pytest

import specs

RT, SP = "runtype", "systemprompt"
RT_OPS = ("listConversations", "createConversation", "getConversation", "updateConversation", "deleteConversation")
SP_OPS = ("listConversations", "getConversation", "updateConversation")


def op(api: str, operation_id: str) -> specs.Operation:
    return specs.load(api).operation(operation_id)


def body(api: str, operation_id: str) -> dict[str, Any]:
    schema = op(api, operation_id).request_schema()
    assert schema is not None
    return schema


def prop(api: str, operation_id: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = body(api, operation_id)["properties"][name]
    return found


def param(api: str, operation_id: str, name: str) -> dict[str, Any]:
    found = op(api, operation_id).parameter(name)
    assert found is not None, f"{operation_id} has no parameter {name}"
    return found


def request_body(api: str, operation_id: str) -> dict[str, Any]:
    found = op(api, operation_id).request_body
    assert found is not None, f"{operation_id} has no request body"
    return found


def response(api: str, operation_id: str, status: str) -> dict[str, Any]:
    schema = op(api, operation_id).response_schema(status)
    assert schema is not None
    return schema


def statuses(api: str, operation_id: str) -> set[str]:
    return set(op(api, operation_id).statuses)


def security(api: str, operation_id: str) -> list[dict[str, list[str]]]:
    found: list[dict[str, list[str]]] = op(api, operation_id).definition["security"]
    return found


def rt_conversation(name: str) -> Any:
    return specs.load(RT).schema("Conversation")["properties"][name]


def sp_conversation(name: str) -> Any:
    return specs.load(SP).schema("Conversation")["properties"][name]


def sp_message(name: str) -> Any:
    return specs.load(SP).schema("Message")["properties"][name]


def list_item(name: str) -> Any:
    return response(RT, "listConversations", "200")["properties"]["conversations"]["items"]["properties"][name]


def pagination(name: str) -> Any:
    return response(RT, "listConversations", "200")["properties"]["pagination"]["properties"][name]


FACTS: list[tuple[str, Callable[[], Any], Any]] = [
    # Runtype: authentication
    (
        "Runtype: bearer scheme",
        lambda: {k: specs.load(RT).security_schemes["bearerAuth"][k] for k in ("type", "scheme")},
        {"type": "http", "scheme": "bearer"},
    ),
    *[(f"Runtype {o}: bearer required", lambda o=o: security(RT, o), [{"bearerAuth": []}]) for o in RT_OPS],
    # Runtype: operations and their documented errors (+ rules 1, 2, 10, 11)
    (
        "Runtype list: GET /v1/conversations",
        lambda: (op(RT, "listConversations").method, op(RT, "listConversations").path),
        ("GET", "/v1/conversations"),
    ),
    (
        "Runtype create: POST /v1/conversations",
        lambda: (op(RT, "createConversation").method, op(RT, "createConversation").path),
        ("POST", "/v1/conversations"),
    ),
    (
        "Runtype get: GET /v1/conversations/{id}",
        lambda: (op(RT, "getConversation").method, op(RT, "getConversation").path),
        ("GET", "/v1/conversations/{id}"),
    ),
    (
        "Runtype update: PUT /v1/conversations/{id}",
        lambda: (op(RT, "updateConversation").method, op(RT, "updateConversation").path),
        ("PUT", "/v1/conversations/{id}"),
    ),
    (
        "Runtype delete: DELETE /v1/conversations/{id}",
        lambda: (op(RT, "deleteConversation").method, op(RT, "deleteConversation").path),
        ("DELETE", "/v1/conversations/{id}"),
    ),
    (
        "Runtype list: errors 401, 403, 500 (+400, rule 10)",
        lambda: statuses(RT, "listConversations"),
        {"200", "400", "401", "403", "500"},
    ),
    (
        "Runtype create: 200 or 201 (rule 1); errors 400, 401, 403, 500 (+413, 415 rule 11)",
        lambda: statuses(RT, "createConversation"),
        {"200", "201", "400", "401", "403", "413", "415", "500"},
    ),
    (
        "Runtype get: errors 400, 401, 403, 404, 500",
        lambda: statuses(RT, "getConversation"),
        {"200", "400", "401", "403", "404", "500"},
    ),
    (
        "Runtype update: errors 400, 401, 403, 404, 500 (+413, 415)",
        lambda: statuses(RT, "updateConversation"),
        {"200", "400", "401", "403", "404", "413", "415", "500"},
    ),
    (
        "Runtype delete: 200 or 204 (rule 2); errors 400, 401, 403, 404, 500",
        lambda: statuses(RT, "deleteConversation"),
        {"200", "204", "400", "401", "403", "404", "500"},
    ),
    ("Runtype delete: 200 carries any JSON body (rule 2)", lambda: response(RT, "deleteConversation", "200"), {}),
    ("Runtype delete: 204 has no body", lambda: op(RT, "deleteConversation").response_schema("204"), None),
    # Runtype: path parameter
    *[
        (
            f"Runtype {o}: path id is a required string",
            lambda o=o: (param(RT, o, "id")["required"], param(RT, o, "id")["schema"]),
            (True, {"type": "string"}),
        )
        for o in RT_OPS[2:]
    ],
    # Runtype: list query parameters
    (
        "Runtype list: source enum app, client_token",
        lambda: param(RT, "listConversations", "source")["schema"]["enum"],
        ["app", "client_token"],
    ),
    (
        "Runtype list: surface_id string",
        lambda: param(RT, "listConversations", "surface_id")["schema"],
        {"type": "string"},
    ),
    (
        "Runtype list: client_token_id string",
        lambda: param(RT, "listConversations", "client_token_id")["schema"],
        {"type": "string"},
    ),
    ("Runtype list: ownerId string", lambda: param(RT, "listConversations", "ownerId")["schema"], {"type": "string"}),
    (
        "Runtype list: limit integer >= 1",
        lambda: {k: v for k, v in param(RT, "listConversations", "limit")["schema"].items() if k != "default"},
        {"type": "integer", "minimum": 1},
    ),
    (
        # Not documented: the spec's default (and cap) are the mock's, so they carry an x-rule.
        "Runtype list: limit has no documented default",
        lambda: "x-rule" in param(RT, "listConversations", "limit"),
        True,
    ),
    ("Runtype list: cursor string", lambda: param(RT, "listConversations", "cursor")["schema"], {"type": "string"}),
    (
        "Runtype list: every query parameter optional",
        lambda: {p["required"] for p in op(RT, "listConversations").parameters},
        {False},
    ),
    # Runtype: list response
    (
        "Runtype list: 200 has conversations and pagination",
        lambda: response(RT, "listConversations", "200")["required"],
        ["conversations", "pagination"],
    ),
    (
        "Runtype list item: its fields, all present",
        lambda: set(response(RT, "listConversations", "200")["properties"]["conversations"]["items"]["required"]),
        {"id", "title", "modelId", "ownerId", "messageCount", "source", "createdAt", "updatedAt"},
    ),
    ("Runtype list item: messageCount integer", lambda: list_item("messageCount")["type"], "integer"),
    ("Runtype list item: source enum", lambda: list_item("source")["enum"], ["app", "client_token"]),
    ("Runtype pagination: limit integer", lambda: pagination("limit")["type"], "integer"),
    ("Runtype pagination: hasMore boolean", lambda: pagination("hasMore")["type"], "boolean"),
    (
        "Runtype pagination: nextCursor string, null or absent on the last page (rule 10)",
        lambda: (
            pagination("nextCursor")["type"],
            "nextCursor" in response(RT, "listConversations", "200")["properties"]["pagination"]["required"],
        ),
        (["string", "null"], False),
    ),
    # Runtype: create body
    ("Runtype create: body is an object", lambda: body(RT, "createConversation")["type"], "object"),
    ("Runtype create: every field optional", lambda: body(RT, "createConversation").get("required", []), []),
    (
        "Runtype create: unknown fields allowed (rule 4)",
        lambda: body(RT, "createConversation").get("additionalProperties", True),
        True,
    ),
    (
        "Runtype create: title string <= 500, default New Chat",
        lambda: (
            prop(RT, "createConversation", "title")["type"],
            prop(RT, "createConversation", "title")["maxLength"],
            prop(RT, "createConversation", "title")["default"],
        ),
        ("string", 500, "New Chat"),
    ),
    (
        "Runtype create: modelId string <= 255",
        lambda: (
            prop(RT, "createConversation", "modelId")["type"],
            prop(RT, "createConversation", "modelId")["maxLength"],
        ),
        ("string", 255),
    ),
    ("Runtype create: systemPrompt string", lambda: prop(RT, "createConversation", "systemPrompt"), {"type": "string"}),
    (
        "Runtype create: ownerId string 1..255",
        lambda: (
            prop(RT, "createConversation", "ownerId")["minLength"],
            prop(RT, "createConversation", "ownerId")["maxLength"],
        ),
        (1, 255),
    ),
    (
        "Runtype create: metadata map, default {}",
        lambda: (
            prop(RT, "createConversation", "metadata")["type"],
            prop(RT, "createConversation", "metadata")["default"],
        ),
        ("object", {}),
    ),
    # Runtype: update body
    (
        "Runtype update: body is an object, every field optional",
        lambda: (body(RT, "updateConversation")["type"], body(RT, "updateConversation").get("required", [])),
        ("object", []),
    ),
    (
        "Runtype update: title <= 500, no default",
        lambda: (
            prop(RT, "updateConversation", "title")["maxLength"],
            "default" in prop(RT, "updateConversation", "title"),
        ),
        (500, False),
    ),
    ("Runtype update: modelId <= 255", lambda: prop(RT, "updateConversation", "modelId")["maxLength"], 255),
    ("Runtype update: systemPrompt string", lambda: prop(RT, "updateConversation", "systemPrompt")["type"], "string"),
    (
        "Runtype update: ownerId 1..255",
        lambda: (
            prop(RT, "updateConversation", "ownerId")["minLength"],
            prop(RT, "updateConversation", "ownerId")["maxLength"],
        ),
        (1, 255),
    ),
    (
        "Runtype update: metadata map, no default",
        lambda: (
            prop(RT, "updateConversation", "metadata")["type"],
            "default" in prop(RT, "updateConversation", "metadata"),
        ),
        ("object", False),
    ),
    (
        "Runtype update: messages list of objects",
        lambda: (
            prop(RT, "updateConversation", "messages")["type"],
            prop(RT, "updateConversation", "messages")["items"]["type"],
        ),
        ("array", "object"),
    ),
    # Runtype: the conversation object (create, get, update)
    *[
        (
            f"Runtype {o} {s}: answers a conversation",
            lambda o=o, s=s: response(RT, o, s),
            specs.load(RT).schema("Conversation"),
        )
        for o, s in (
            ("createConversation", "201"),
            ("createConversation", "200"),
            ("getConversation", "200"),
            ("updateConversation", "200"),
        )
    ],
    (
        "Runtype conversation: fields always present",
        lambda: set(specs.load(RT).schema("Conversation")["required"]),
        {
            "id",
            "title",
            "modelId",
            "systemPrompt",
            "ownerId",
            "metadata",
            "messages",
            "source",
            "createdAt",
            "updatedAt",
        },
    ),
    ("Runtype conversation: id string", lambda: rt_conversation("id")["type"], "string"),
    ("Runtype conversation: title string", lambda: rt_conversation("title")["type"], "string"),
    ("Runtype conversation: modelId string or null", lambda: rt_conversation("modelId")["type"], ["string", "null"]),
    (
        "Runtype conversation: systemPrompt string or null",
        lambda: rt_conversation("systemPrompt")["type"],
        ["string", "null"],
    ),
    ("Runtype conversation: ownerId string or null", lambda: rt_conversation("ownerId")["type"], ["string", "null"]),
    ("Runtype conversation: metadata map", lambda: rt_conversation("metadata")["type"], "object"),
    (
        "Runtype conversation: messages list of maps",
        lambda: (rt_conversation("messages")["type"], rt_conversation("messages")["items"]["type"]),
        ("array", "object"),
    ),
    ("Runtype conversation: source enum", lambda: rt_conversation("source")["enum"], ["app", "client_token"]),
    (
        "Runtype conversation: createdAt, updatedAt strings",
        lambda: (rt_conversation("createdAt")["type"], rt_conversation("updatedAt")["type"]),
        ("string", "string"),
    ),
    # systemprompt.io: authentication
    (
        "systemprompt: api-key header scheme",
        lambda: {k: specs.load(SP).security_schemes["apiKey"][k] for k in ("type", "in", "name")},
        {"type": "apiKey", "in": "header", "name": "api-key"},
    ),
    *[(f"systemprompt {o}: api-key required", lambda o=o: security(SP, o), [{"apiKey": []}]) for o in SP_OPS],
    # systemprompt.io: operations, and the statuses the rules add (rules 9, 11)
    (
        "systemprompt list: GET /v1/conversation",
        lambda: (op(SP, "listConversations").method, op(SP, "listConversations").path),
        ("GET", "/v1/conversation"),
    ),
    (
        "systemprompt get: GET /v1/conversation/{uuid}",
        lambda: (op(SP, "getConversation").method, op(SP, "getConversation").path),
        ("GET", "/v1/conversation/{uuid}"),
    ),
    (
        "systemprompt update: PUT /v1/conversation/{uuid}",
        lambda: (op(SP, "updateConversation").method, op(SP, "updateConversation").path),
        ("PUT", "/v1/conversation/{uuid}"),
    ),
    (
        "systemprompt: no create or delete",
        lambda: sorted(o.method for o in specs.load(SP).operations),
        ["GET", "GET", "PUT"],
    ),
    (
        "systemprompt list: 200; 400 bad query, 401 (rule 9)",
        lambda: statuses(SP, "listConversations"),
        {"200", "400", "401"},
    ),
    (
        "systemprompt get: 200; 400 malformed uuid, 401, 404 (rule 9)",
        lambda: statuses(SP, "getConversation"),
        {"200", "400", "401", "404"},
    ),
    (
        "systemprompt update: 200; 400, 401, 404 (rule 9), 413, 415 (rule 11)",
        lambda: statuses(SP, "updateConversation"),
        {"200", "400", "401", "404", "413", "415"},
    ),
    # systemprompt.io: parameters
    *[
        (
            f"systemprompt {o}: uuid path string, format uuid, required",
            lambda o=o: (param(SP, o, "uuid")["required"], param(SP, o, "uuid")["schema"]),
            (True, {"type": "string", "format": "uuid"}),
        )
        for o in SP_OPS[1:]
    ],
    (
        "systemprompt list: page integer default 1",
        lambda: param(SP, "listConversations", "page")["schema"],
        {"type": "integer", "default": 1},
    ),
    (
        "systemprompt list: limit integer default 20",
        lambda: param(SP, "listConversations", "limit")["schema"],
        {"type": "integer", "default": 20},
    ),
    # systemprompt.io: bodies and objects
    (
        "systemprompt list: 200 is an array of conversations",
        lambda: (response(SP, "listConversations", "200")["type"], response(SP, "listConversations", "200")["items"]),
        ("array", specs.load(SP).schema("Conversation")),
    ),
    (
        "systemprompt update: body required, application/json",
        lambda: (
            request_body(SP, "updateConversation")["required"],
            list(request_body(SP, "updateConversation")["content"]),
        ),
        (True, ["application/json"]),
    ),
    (
        "systemprompt update: free-form object with metadata object",
        lambda: (
            body(SP, "updateConversation")["type"],
            body(SP, "updateConversation")["additionalProperties"],
            prop(SP, "updateConversation", "metadata")["type"],
        ),
        ("object", True, "object"),
    ),
    *[
        (
            f"systemprompt {o}: answers a conversation",
            lambda o=o: response(SP, o, "200"),
            specs.load(SP).schema("Conversation"),
        )
        for o in SP_OPS[1:]
    ],
    (
        "systemprompt conversation: id, message, metadata, _link always present",
        lambda: specs.load(SP).schema("Conversation")["required"],
        ["id", "message", "metadata", "_link"],
    ),
    ("systemprompt conversation: id uuid string", lambda: sp_conversation("id"), {"type": "string", "format": "uuid"}),
    (
        "systemprompt conversation: message list of messages (singular name)",
        lambda: (sp_conversation("message")["type"], sp_conversation("message")["items"]),
        ("array", specs.load(SP).schema("Message")),
    ),
    ("systemprompt conversation: metadata object", lambda: sp_conversation("metadata")["type"], "object"),
    ("systemprompt conversation: _link string", lambda: sp_conversation("_link"), {"type": "string"}),
    ("systemprompt message: id uuid", lambda: sp_message("id"), {"type": "string", "format": "uuid"}),
    (
        "systemprompt message: role, content, model strings",
        lambda: (sp_message("role")["type"], sp_message("content")["type"], sp_message("model")["type"]),
        ("string", "string", "string"),
    ),
    (
        "systemprompt message: reference list of objects",
        lambda: sp_message("reference"),
        {"type": "array", "items": {"type": "object"}},
    ),
    (
        "systemprompt message metadata: its typed fields",
        lambda: {k: v["type"] for k, v in sp_message("metadata")["properties"].items()},
        {
            "title": "string",
            "description": "string",
            "tag": "array",
            "created": "string",
            "updated": "string",
            "version": "integer",
            "status": "string",
            "author": "string",
        },
    ),
    (
        "systemprompt message metadata: tag list of strings",
        lambda: sp_message("metadata")["properties"]["tag"]["items"],
        {"type": "string"},
    ),
    # Rules that are shape: error bodies (6), media types (11)
    *[
        (
            f"{api} {o.operation_id} {s}: error body is any JSON object (rule 6)",
            lambda api=api, o=o, s=s: o.response_schema(s)["type"],
            "object",
        )
        for api in specs.API_NAMES
        for o in specs.load(api).operations
        for s in o.statuses
        if int(s) >= 400
    ],
    *[
        (
            f"{api} {o.operation_id}: every response body is application/json (rule 11)",
            lambda o=o: {
                m for r in o.definition["responses"].values() for m in r.get("content", {"application/json": None})
            },
            {"application/json"},
        )
        for api in specs.API_NAMES
        for o in specs.load(api).operations
    ],
    *[
        (
            f"{api} {o.operation_id}: request body only as application/json (rule 11)",
            lambda o=o: list(o.request_body["content"]),
            ["application/json"],
        )
        for api in specs.API_NAMES
        for o in specs.load(api).operations
        if o.request_body
    ],
]


@pytest.mark.parametrize(("fact", "actual", "expected"), FACTS, ids=[f[0] for f in FACTS])
def test_spec_states_documented_fact(fact: str, actual: Callable[[], Any], expected: Any) -> None:
    assert actual() == expected, fact


def test_fact_names_are_unique() -> None:
    names = [f[0] for f in FACTS]
    assert len(names) == len(set(names))
