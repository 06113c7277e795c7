"""The suite's client talks to the base URL's origin and nothing else; keys never leak."""

import httpx
import pytest

from contracts.curl import to_curl
from contracts.target import Client, OffTargetRequest, Target, auth_headers
from specs.redact import Redactor


def test_requests_to_another_host_are_refused_before_sending() -> None:
    client = Client(Target(base_url="http://127.0.0.1:9/base", api_key="k"), "runtype")
    for url in ("http://example.com/v1/conversations", "https://127.0.0.1:9/v1/conversations", "http://127.0.0.1:10/x"):
        with pytest.raises(OffTargetRequest):
            client.send("GET", url)
    client.close()


def test_auth_headers_follow_each_specs_security_scheme() -> None:
    assert auth_headers("runtype", "k") == {"Authorization": "Bearer k"}
    assert auth_headers("systemprompt", "k") == {"api-key": "k"}
    assert auth_headers("runtype", None) == {}


def test_curl_redacts_credentials_wherever_they_appear() -> None:
    redact = Redactor(["sekrit-key"])
    request = httpx.Request(
        "POST",
        "http://127.0.0.1/v1/conversations?note=sekrit-key",
        headers={"Authorization": "Bearer sekrit-key", "X-Trace": "sekrit-key"},
        json={"title": "it's sekrit-key"},
    )
    curl = to_curl(request, redact)
    assert "sekrit-key" not in curl
    assert "Authorization: Bearer [REDACTED]" in curl and curl.startswith("curl -X POST")
