"""An exchange's repr (what a log line or a debugger shows) never carries the credential."""

from __future__ import annotations

from mockserver.proxy.exchange import DecodedHeaders, Exchange

KEY = "sk-live-exchange-repr"


def test_an_exchanges_repr_leaves_out_its_headers_and_credential() -> None:
    raw = [(b"authorization", f"Bearer {KEY}".encode()), (b"api-key", KEY.encode())]
    exchange = Exchange(
        api="runtype",
        method="GET",
        path="/v1/conversations",
        query_string=b"",
        target=b"/v1/conversations",
        raw_headers=raw,
        headers=DecodedHeaders(raw),
        credential=KEY,
    )
    assert exchange.headers["authorization"] == f"Bearer {KEY}"  # still there to be read
    assert KEY not in repr(exchange)
    assert KEY not in repr(exchange.headers)
    assert "authorization" in repr(exchange.headers)
