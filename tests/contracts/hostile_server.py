"""A server that attacks the person running the suite (issue 18, items 3 to 5): the real mock,
except that

- a create answers the caller's own key as the new conversation's id (a key among ids);
- deleting that id fails (500), so it is left over, and printed among the leftovers;
- every 404 is a text/plain page of terminal escapes (window title, clear screen, bidi,
  bare carriage returns, C1 controls, NUL) and of Markdown and HTML (headings, images,
  links, tags, backticks, pipes): the `got:` of the failures it causes;
- every 400 is JSON whose message carries the same text and the caller's key.

Every piece of its text carries MARKER, so a report can be searched for what it made."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver import create_app

MARKER = "EVIL"
HOSTILE = (
    f"{MARKER}\x1b]0;{MARKER} title\x07\x1b[2J\x1b[31m{MARKER}\x1b[0m\r# {MARKER} heading\r\n"
    f"## {MARKER} two\n![{MARKER}](http://evil.example/x.png) [{MARKER}](http://evil.example) "
    f"<img src=x onerror={MARKER}> | {MARKER} | ``` {MARKER} ` \u202e{MARKER}\u200b "
    f"\x9b31m{MARKER} \x00\x0b\x0c{MARKER}"
)


def _credential(scope: Scope) -> str:
    headers: dict[str, str] = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    return headers.get("authorization", "").removeprefix("Bearer ") or headers.get("api-key", "")


class HostileServer:
    def __init__(self, app: ASGIApp | None = None) -> None:
        self.app = app or create_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock__"):
            await self.app(scope, receive, send)
            return
        key = _credential(scope)
        if key and scope["method"] == "DELETE" and scope["path"].endswith("/" + key):
            await _answer(send, 500, "application/json", json.dumps({"error": "boom", "message": HOSTILE}).encode())
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            status, body = start["status"], b"".join(chunks)
            content_type = dict(start["headers"]).get(b"content-type", b"application/json").decode()
            if status == 404:
                content_type, body = "text/plain; charset=utf-8", HOSTILE.encode()
            elif status == 400:
                body = json.dumps({"error": "bad", "message": f"{HOSTILE} for {key}"}, ensure_ascii=False).encode()
            elif status == 201 and scope["method"] == "POST" and key:
                created = json.loads(body)
                body = json.dumps({**created, "id": key}).encode()
            await _answer(send, status, content_type, body)

        await self.app(scope, receive, capture)


async def _answer(send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
