"""The ceiling of this stack: Starlette + uvicorn answering a constant ~600-byte conversation,
no auth, no validation, no state."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = (
    b'{"id":"conv_demo1_1","title":"Help with Python","modelId":"claude-sonnet-4-5",'
    b'"systemPrompt":"You are a coding assistant.","ownerId":"user_1","metadata":{"topic":"programming"},'
    b'"messages":[{"id":"msg_1_1","role":"user","content":"Help me write a function",'
    b'"timestamp":"2024-06-01T09:10:00Z"},'
    b'{"id":"msg_1_2","role":"assistant","content":"Sure! What kind of function would you like?",'
    b'"timestamp":"2024-06-01T09:11:00Z"}],"source":"app","createdAt":"2024-06-01T09:10:00Z",'
    b'"updatedAt":"2024-06-01T09:12:00Z"}'
)


async def constant(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", constant, methods=["GET", "PUT"])])
