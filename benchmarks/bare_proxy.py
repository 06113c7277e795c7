"""The ceiling of a proxy on this stack: uvicorn + the proxy's own upstream client
(`mockserver/proxy/upstream_client.py`) relaying each request and its answer, with no
checks, no journal, no middleware. `throughput.py --proxy` runs it beside the proxy: the
proxy's ratio to the mock it fronts can reach at most this one's.

    BARE_PROXY_UPSTREAM=http://127.0.0.1:PORT uvicorn bare_proxy:app --app-dir benchmarks ...
"""

from __future__ import annotations

import os

from starlette.types import Receive, Scope, Send

from mockserver.proxy.upstream_client import Origin, UpstreamClient

ORIGIN = Origin.parse(os.environ.get("BARE_PROXY_UPSTREAM", "http://127.0.0.1:8000"))
# What a relay cannot pass on as it came: framing is set again on each hop, and uvicorn
# writes its own date and server headers.
_REQUEST_DROPPED = frozenset({b"host", b"content-length", b"connection"})
_ANSWER_DROPPED = frozenset({b"date", b"server", b"transfer-encoding", b"connection"})
_client: UpstreamClient | None = None


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _client
    if scope["type"] != "http":
        return
    if _client is None:  # made on the server's loop
        _client = UpstreamClient(timeout=30.0)
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
    headers = [(k, v) for k, v in scope["headers"] if k not in _REQUEST_DROPPED]
    upstream = await _client.send(ORIGIN, scope["method"], target, headers, body, hold=1 << 20)
    try:
        answer = b"".join(upstream.take_buffered())
        out = [(k, v) for k, v in upstream.headers if k.lower() not in _ANSWER_DROPPED]
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out})
        await send({"type": "http.response.body", "body": answer})
    finally:
        await upstream.aclose()
