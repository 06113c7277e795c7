"""Proxy mode: the mock in front of a real upstream (the mock itself, or a broken one), over HTTP.

Upstreams are real uvicorn servers on 127.0.0.1 (BackgroundServer) wrapped in a `Tap` that
keeps what they received and what they sent, so each test can compare the client's answer
with the upstream's bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import signal
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver import MockConfig, create_app
from mockserver.background import BackgroundServer
from tests.conftest import ALICE, MockProcess
from tests.mockserver.proxy.upstreams import (
    SECRET,
    SocketUpstream,
    Tap,
    create_202,
    drop_updated_at,
    text_plain,
    truncate_title,
)

RT = {"Authorization": f"Bearer {ALICE}"}
SP = {"api-key": ALICE}
SP_ID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
TITLE_MAX = "runtype.yaml#/components/schemas/Title/maxLength"


def proxy_config(url: str, **options: Any) -> MockConfig:
    return MockConfig(upstreams=(("runtype", url), ("systemprompt", url)), **options)


def violations(proxy: BackgroundServer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(proxy.base_url + "/__mock__/violations").json()["violations"]
    return found


def only(found: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(found) == 1, found
    return found[0]


def test_every_operation_through_the_proxy_conforms_and_is_passed_on_unchanged(serve: Any) -> None:
    tap = Tap(create_app(MockConfig()))
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    with httpx.Client(base_url=proxy.base_url, timeout=10) as client:
        created = client.post("/v1/conversations", json={"title": "via proxy", "metadata": {"a": 1}}, headers=RT)
        cid = created.json()["id"]
        answers = [
            created,
            client.get("/v1/conversations", params={"limit": 2}, headers=RT),
            client.get(f"/v1/conversations/{cid}", headers=RT),
            client.put(f"/v1/conversations/{cid}", json={"title": "renamed"}, headers=RT),
            client.delete(f"/v1/conversations/{cid}", headers=RT),
            client.get(f"/v1/conversations/{cid}", headers=RT),  # a documented 404
            client.get("/v1/conversation", headers=SP),
            client.get(f"/v1/conversation/{SP_ID}", headers=SP),
            client.put(f"/v1/conversation/{SP_ID}", json={"metadata": {"title": "t"}}, headers=SP),
            client.get("/v1/conversations/conv_demo1_1"),  # a documented 401
        ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 200, 404, 200, 200, 200, 401]
    assert len(tap.seen) == len(answers)
    for answer, seen in zip(answers, tap.seen, strict=True):
        assert (answer.status_code, answer.content) == (seen.status, seen.response)
        assert answer.headers["x-convo-violations"] == "0"
    assert violations(proxy) == []
    journal = httpx.get(proxy.base_url + "/__mock__/requests").json()["requests"]
    operations = {(e["api"], e["operationId"]) for e in journal}
    assert len(operations) == 8  # every operation of both specs went through, journaled


def test_forwarded_as_sent_with_hop_by_hop_headers_dropped_and_host_rewritten(serve: Any) -> None:
    tap = Tap(create_app(MockConfig()))
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    headers = {**RT, "X-Trace": "abc", "Connection": "keep-alive, X-Hop", "X-Hop": "drop me", "TE": "trailers"}
    answer = httpx.get(proxy.base_url + "/v1/conversations?limit=1&ownerId=user_1", headers=headers)
    assert answer.status_code == 200
    (seen,) = tap.seen
    assert seen.path == "/v1/conversations"
    assert seen.headers["host"] == upstream.base_url.removeprefix("http://")
    assert seen.headers["authorization"] == f"Bearer {ALICE}"
    assert seen.headers["x-trace"] == "abc"
    assert "x-hop" not in seen.headers and "te" not in seen.headers
    assert "user-agent" in seen.headers and seen.headers["user-agent"].startswith("python-httpx")


@pytest.mark.parametrize(
    ("rewrite", "rewrite_request", "send", "expected"),
    [
        pytest.param(
            drop_updated_at,
            None,
            ("GET", "/v1/conversations/conv_demo1_1", None),
            ("getConversation", "response", "required", "runtype.yaml#/components/schemas/Conversation/required"),
            id="missing-required-field",
        ),
        pytest.param(
            create_202,
            None,
            ("POST", "/v1/conversations", {"title": "x"}),
            ("createConversation", "response", "status", "runtype.yaml#/paths/~1v1~1conversations/post/responses"),
            id="undocumented-status",
        ),
        pytest.param(
            text_plain,
            None,
            ("GET", "/v1/conversations/conv_demo1_1", None),
            (
                "getConversation",
                "response",
                "contentType",
                "runtype.yaml#/paths/~1v1~1conversations~1{id}/get/responses/200/content",
            ),
            id="wrong-content-type",
        ),
        pytest.param(
            None,
            truncate_title,
            ("POST", "/v1/conversations", {"title": "x" * 501}),
            ("createConversation", "request", "maxLength", TITLE_MAX),
            id="limit-not-enforced",
        ),
    ],
)
def test_a_broken_upstream_is_reported_and_its_answer_passed_on(
    serve: Any, rewrite: Any, rewrite_request: Any, send: tuple[str, str, Any], expected: tuple[str, ...]
) -> None:
    tap = Tap(create_app(MockConfig()), rewrite=rewrite, rewrite_request=rewrite_request)
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    method, path, body = send
    answer = httpx.request(method, proxy.base_url + path, json=body, headers=RT)
    (seen,) = tap.seen
    assert (answer.status_code, answer.content) == (seen.status, seen.response)
    assert answer.headers["content-type"] == ("text/plain" if rewrite is text_plain else "application/json")
    found = violations(proxy)
    # An invalid request answered 2xx is also the server's (test_monitor.py): not this test's point.
    violation = only([v for v in found if v["rule"] != "acceptedInvalidInput"])
    assert (violation["operationId"], violation["direction"], violation["rule"], violation["specPointer"]) == expected
    assert violation["api"] == "runtype" and violation["method"] == method
    assert answer.headers["x-convo-violations"] == str(len(found))
    journal = httpx.get(proxy.base_url + "/__mock__/requests").json()["requests"]
    assert [e.get("requestId") for e in journal] == [violation["requestId"]]
    assert ALICE not in json.dumps(violation)


def test_an_error_body_of_another_json_shape_is_no_violation(serve: Any) -> None:
    # Error bodies are not documented (rule 6): the spec names `error` and `message` for
    # generated clients, but a body of another JSON shape is the server's choice.
    def nested_error(method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status >= 400:
            return status, headers, json.dumps({"error": {"code": 404, "detail": "gone"}, "message": 7}).encode()
        return status, headers, body

    proxy = serve(create_app(proxy_config(serve(Tap(create_app(MockConfig()), rewrite=nested_error)).base_url)))
    answer = httpx.get(proxy.base_url + "/v1/conversations/conv_missing", headers=RT)
    assert answer.status_code == 404 and answer.json()["error"] == {"code": 404, "detail": "gone"}
    assert violations(proxy) == [] and answer.headers["x-convo-violations"] == "0"


def test_a_long_value_is_shortened_in_the_record(serve: Any) -> None:
    upstream = serve(Tap(create_app(MockConfig()), rewrite_request=truncate_title))
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    httpx.post(proxy.base_url + "/v1/conversations", json={"title": "y" * 5000}, headers=RT)
    violation = only([v for v in violations(proxy) if v["direction"] == "request"])
    assert violation["value"].startswith('"yyy') and len(violation["value"]) <= 200
    assert violation["value"].endswith("…")


def test_strict_mode_answers_400_and_does_not_forward(serve: Any) -> None:
    tap = Tap(create_app(MockConfig()))
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url, proxy_strict=True)))
    answer = httpx.post(proxy.base_url + "/v1/conversations", json={"title": "x" * 501}, headers=RT)
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request" and "title" in answer.json()["message"]
    assert answer.headers["x-convo-violations"] == "1"
    assert tap.seen == []
    assert only(violations(proxy))["specPointer"] == TITLE_MAX
    assert httpx.get(proxy.base_url + "/v1/conversations/conv_demo1_1", headers=RT).status_code == 200


def test_query_parameter_violations_point_at_the_parameter(serve: Any) -> None:
    upstream = serve(Tap(create_app(MockConfig())))
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    answer = httpx.get(proxy.base_url + "/v1/conversations?limit=0", headers=RT)
    assert answer.status_code == 400  # the upstream's answer, documented
    violation = only(violations(proxy))
    assert violation["direction"] == "request" and violation["rule"] == "minimum"
    assert violation["specPointer"].startswith("runtype.yaml#/")
    assert violation["specPointer"].endswith("/minimum")


def test_unknown_operations_pass_through_and_are_counted(serve: Any) -> None:
    tap = Tap(create_app(MockConfig()))
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    answers = [
        httpx.get(proxy.base_url + "/v1/other", headers=RT),
        httpx.patch(proxy.base_url + "/v1/conversations/conv_demo1_1", json={}, headers=RT),
    ]
    assert [(a.status_code, a.content) for a in answers] == [(s.status, s.response) for s in tap.seen]
    assert [(s.method, s.path) for s in tap.seen] == [("GET", "/v1/other"), ("PATCH", "/v1/conversations/conv_demo1_1")]
    found = violations(proxy)
    assert [(v["rule"], v["operationId"], v["method"]) for v in found] == [
        ("unknownOperation", None, "GET"),
        ("unknownOperation", None, "PATCH"),
    ]
    summary = httpx.get(proxy.base_url + "/__mock__/violations").json()["summary"]
    assert sum(row["count"] for row in summary) == 2
    assert httpx.delete(proxy.base_url + "/__mock__/violations").status_code == 204
    assert httpx.get(proxy.base_url + "/__mock__/violations").json() == {"total": 0, "summary": [], "violations": []}


def test_one_api_proxied_the_other_mocked(serve: Any) -> None:
    tap = Tap(create_app(MockConfig()))
    upstream = serve(tap)
    proxy = serve(create_app(MockConfig(upstreams=(("systemprompt", upstream.base_url),))))
    assert httpx.get(proxy.base_url + "/v1/conversations/conv_demo1_1", headers=RT).status_code == 200
    assert tap.seen == []
    assert httpx.get(f"{proxy.base_url}/v1/conversation/{SP_ID}", headers=SP).status_code == 200
    assert [s.path for s in tap.seen] == [f"/v1/conversation/{SP_ID}"]


def test_chaos_and_the_journal_work_in_proxy_mode(serve: Any) -> None:
    tap = Tap(create_app(MockConfig()))
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    forced = httpx.get(proxy.base_url + "/v1/conversations/conv_demo1_1", headers={**RT, "Prefer": "code=404"})
    assert forced.status_code == 404 and forced.json()["error"] == "forced"
    assert tap.seen == []
    preflight = httpx.options(
        proxy.base_url + "/v1/conversations",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert tap.seen == []
    journal = httpx.get(proxy.base_url + "/__mock__/requests").json()["requests"]
    assert [(e["status"], e["operationId"], e["headers"]["authorization"]) for e in journal] == [
        (404, "getConversation", "Bearer [REDACTED]")
    ]


def test_an_unreachable_upstream_is_a_502_naming_it_without_credentials(serve: Any) -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    secret_url = url.replace("http://", "http://user:hunter2@")
    proxy = serve(create_app(proxy_config(secret_url)))
    answer = httpx.get(proxy.base_url + "/v1/conversations", headers=RT)
    assert answer.status_code == 502
    body = answer.json()
    assert body["error"] == "upstream_unreachable"
    assert url.removeprefix("http://") in body["message"]
    assert "hunter2" not in answer.text and ALICE not in answer.text


def test_a_slow_upstream_is_a_504(serve: Any) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(2)
        return Response(b"[]", media_type="application/json")

    upstream = serve(Starlette(routes=[Route("/{rest:path}", slow)]))
    proxy = serve(create_app(proxy_config(upstream.base_url, upstream_timeout=0.3)))
    answer = httpx.get(proxy.base_url + "/v1/conversations", headers=RT, timeout=10)
    assert answer.status_code == 504
    assert answer.json()["error"] == "upstream_timeout" and upstream.base_url in answer.json()["message"]


def test_cli_fails_on_violation_with_a_summary_and_a_json_report(spawn_mock: Any, tmp_path: Path) -> None:
    upstream = spawn_mock("--key", SECRET)
    report = tmp_path / "traffic.json"
    proxy: MockProcess = spawn_mock("--upstream", upstream.base_url, "--fail-on-violation", "--json", str(report))
    auth = {"Authorization": f"Bearer {SECRET}"}
    created = httpx.post(proxy.base_url + "/v1/conversations", json={"title": "z" * 501}, headers=auth)
    assert created.status_code == 400  # the upstream (a mock) enforces the limit; the request still broke it
    ok = httpx.post(proxy.base_url + "/v1/conversations", json={"title": SECRET}, headers=auth)
    assert ok.status_code == 201
    assert httpx.get(proxy.base_url + f"/v1/conversations/{ok.json()['id']}", headers=auth).status_code == 200
    httpx.get(proxy.base_url + "/v1/nowhere", headers=auth)
    assert proxy.stop() == 1
    data = json.loads(report.read_text())
    assert data["version"] == 1 and data["exitCode"] == 1
    assert data["target"]["families"] == ["traffic"]
    failed = {(r["operationId"], r["check"]) for r in data["results"] if r["status"] == "failed"}
    assert failed == {("createConversation", "request"), (None, "unknownOperation")}
    passed = {(r["operationId"], r["check"]) for r in data["results"] if r["status"] == "passed"}
    assert ("getConversation", "response") in passed and ("createConversation", "response") in passed
    (create,) = [r for r in data["results"] if r["operationId"] == "createConversation" and r["check"] == "request"]
    (failure,) = create["failures"]
    assert failure["specPointer"] == TITLE_MAX and failure["count"] == 1
    assert failure["curl"].startswith("curl -X POST") and "[REDACTED]" in failure["curl"]
    assert data["summary"]["failed"] == 2
    everything = report.read_text() + "".join(proxy.output)
    assert SECRET not in everything
    violation_lines = [line for line in proxy.output if line.startswith("convo-mock: violation")]
    assert len(violation_lines) == 2


def test_cli_exits_0_without_violations_and_rejects_proxy_flags_without_upstream(
    spawn_mock: Any, tmp_path: Path
) -> None:
    import subprocess
    import sys

    upstream = spawn_mock()
    report = tmp_path / "clean.json"
    proxy = spawn_mock("--upstream", upstream.base_url, "--fail-on-violation", "--json", str(report))
    assert httpx.get(proxy.base_url + "/v1/conversations", headers=RT).status_code == 200
    proxy.proc.send_signal(signal.SIGTERM)  # what `kill` in a CI script sends
    assert proxy.proc.wait(timeout=20) == 0
    assert json.loads(report.read_text())["exitCode"] == 0
    for args in (["--fail-on-violation"], ["--upstream", "ftp://x"], ["--upstream", "nope=http://x"]):
        done = subprocess.run(
            [sys.executable, "-m", "mockserver", "--port", "0", *args], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


PROXY_CLIENT_TESTS = """
import httpx
import pytest

UPSTREAM = "{url}"


@pytest.mark.convo_mock(upstream=UPSTREAM)
def test_a_request_the_spec_forbids_is_a_violation(convo_mock):
    url, body = convo_mock.base_url + "/v1/conversations", {{"title": "x" * 501}}
    answer = httpx.post(url, json=body, headers=convo_mock.headers())
    assert answer.status_code == 400
    (violation,) = convo_mock.violations
    assert violation["rule"] == "maxLength" and violation["direction"] == "request"


@pytest.mark.convo_mock(upstream=UPSTREAM)
def test_violations_start_empty_and_good_traffic_adds_none(convo_mock):
    assert convo_mock.violations == []
    assert httpx.get(convo_mock.base_url + "/v1/conversations", headers=convo_mock.headers()).status_code == 200
    assert convo_mock.violations == []
    (entry,) = convo_mock.requests
    assert entry["operationId"] == "listConversations"


def test_ini_upstream(convo_mock):
    httpx.get(convo_mock.base_url + "/v1/nowhere", headers=convo_mock.headers())
    assert [v["rule"] for v in convo_mock.violations] == ["unknownOperation"]
"""


def test_pytest_fixture_upstream_by_marker_and_ini(serve: Any, pytester: pytest.Pytester) -> None:
    tap = Tap(create_app(MockConfig()))
    upstream = serve(tap)
    pytester.makepyfile(test_client=PROXY_CLIENT_TESTS.format(url=upstream.base_url))
    pytester.makeini(f"[pytest]\nconvo_mock_upstream = {upstream.base_url}\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert [s.path for s in tap.seen] == ["/v1/conversations", "/v1/conversations", "/v1/nowhere"]


def test_a_gzip_answer_is_checked_after_decoding_and_passed_on_compressed(serve: Any) -> None:
    import gzip

    def gzipped(method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> Any:
        data = json.loads(body)
        data.pop("updatedAt")
        return status, {**headers, "content-encoding": "gzip"}, gzip.compress(json.dumps(data).encode())

    tap = Tap(create_app(MockConfig()), rewrite=gzipped)
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    with httpx.Client() as client:
        answer = client.get(proxy.base_url + "/v1/conversations/conv_demo1_1", headers=RT)
    (seen,) = tap.seen
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.json() == json.loads(gzip.decompress(seen.response))
    violation = only(violations(proxy))
    assert violation["rule"] == "required" and "updatedAt" in violation["message"]


def test_bodies_past_the_buffer_limits_stream_through_unchecked(serve: Any) -> None:
    tap = Tap(create_app(MockConfig()), rewrite=drop_updated_at)
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url, max_body=64, proxy_buffer=64)))
    body = {"title": "t" * 400}
    answer = httpx.put(proxy.base_url + "/v1/conversations/conv_demo1_1", json=body, headers=RT)
    (seen,) = tap.seen
    assert json.loads(seen.body) == body  # the long request reached the upstream whole
    assert (answer.status_code, answer.content) == (seen.status, seen.response)
    assert len(answer.content) > 64 and answer.json()["title"] == "t" * 400
    # Neither body was held, so neither was checked: the missing updatedAt goes unreported.
    assert answer.headers["x-convo-violations"] == "0" and violations(proxy) == []


def test_the_host_guard_protects_proxy_mode_too(serve: Any) -> None:
    tap = Tap(create_app(MockConfig()))
    upstream = serve(tap)
    proxy = serve(create_app(proxy_config(upstream.base_url)))
    answer = httpx.get(proxy.base_url + "/v1/conversations", headers={**RT, "Host": "rebind.example"})
    assert answer.status_code == 421 and answer.json()["error"]
    assert tap.seen == []


class BreakingUpstream:
    """A raw HTTP/1.1 server on 127.0.0.1 that announces a 100-byte JSON body, sends 6 bytes
    and then closes the connection (`hang=False`) or goes quiet (`hang=True`)."""

    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    conn.recv(65536)
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                    conn.sendall(head + b'{"a":1')
                    if self.hang:
                        self.release.wait(10)

    def close(self) -> None:
        self.release.set()
        self.sock.close()


@pytest.mark.parametrize(
    ("hang", "status", "error"), [(False, 502, "upstream_broke_off"), (True, 504, "upstream_timeout")]
)
def test_an_upstream_that_breaks_off_mid_body_is_a_gateway_error_and_a_violation(
    serve: Any, hang: bool, status: int, error: str
) -> None:
    upstream = BreakingUpstream(hang)
    try:
        secret_url = upstream.base_url.replace("http://", "http://user:hunter2@")
        proxy = serve(create_app(proxy_config(secret_url, upstream_timeout=0.5)))
        answer = httpx.get(proxy.base_url + "/v1/conversations", headers=RT, timeout=10)
    finally:
        upstream.close()
    assert answer.status_code == status
    body = answer.json()
    assert body["error"] == error
    assert upstream.base_url.removeprefix("http://") in body["message"] and "after 6 bytes" in body["message"]
    assert "hunter2" not in answer.text and ALICE not in answer.text
    found = only(violations(proxy))
    assert found["rule"] == "incompleteResponse" and found["operationId"] == "listConversations"
    assert found["direction"] == "response" and "hunter2" not in json.dumps(found)


def answering_raw(answer: bytes) -> Any:
    """A `SocketUpstream` answer: these bytes, whatever was asked."""

    def answer_with(upstream: SocketUpstream, conn: socket.socket, head: bytes) -> None:
        upstream.send(conn, answer)

    return answer_with


@pytest.mark.parametrize(
    ("answer", "rule", "named"),
    [
        (b"HTTP/1.1 999 Beyond\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "status", "status 999"),
        (b"HTTP/1.1 042 Below\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "status", "status 42"),
        (b"HTTP/1.1 42 Two digits\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "malformedResponse", "status"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n"
            b"Connection: close\r\n\r\n%x\r\n%b\r\n0\r\n\r\n" % (len(gzip.compress(b"[]")), gzip.compress(b"[]")),
            "transferCoding",
            "Transfer-Encoding: gzip, chunked",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n"
            b"Connection: close\r\n\r\n" + gzip.compress(b"[]"),
            "transferCoding",
            "Transfer-Encoding: gzip",
        ),
        (
            # A C1 control (an 8-bit CSI) in the coding: shown escaped, in the 502 and the violation.
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: x\x9b2J, chunked\r\n"
            b"Connection: close\r\n\r\n2\r\n[]\r\n0\r\n\r\n",
            "transferCoding",
            "Transfer-Encoding: x\\x9b2j, chunked",
        ),
    ],
    ids=["status-999", "status-042", "status-42", "gzip-chunked", "gzip", "c1-coding"],
)
def test_an_answer_the_proxy_cannot_pass_on_is_a_502_naming_it_and_a_violation(
    serve: Any, answer: bytes, rule: str, named: str
) -> None:
    with SocketUpstream(answering_raw(answer)) as upstream:
        proxy = serve(create_app(proxy_config(upstream.base_url)))
        got = httpx.get(proxy.base_url + "/v1/conversations", headers=RT, timeout=10)
    assert got.status_code == 502
    body = got.json()
    assert body["error"] == "upstream_malformed" and named in body["message"]
    assert upstream.base_url.removeprefix("http://") in body["message"]
    assert got.headers["x-convo-violations"] == "1"
    found = only(violations(proxy))
    assert (found["rule"], found["direction"], found["operationId"]) == (rule, "response", "listConversations")
    served = httpx.get(proxy.base_url + "/__mock__/violations").content
    assert b"\xc2\x9b" not in got.content + served  # no raw C1 control for a terminal to act on


def test_a_path_with_terminal_escapes_reaches_the_console_escaped(spawn_mock: Any) -> None:
    upstream = spawn_mock()
    proxy: MockProcess = spawn_mock("--upstream", upstream.base_url)
    # What a web page can make a browser send (no-cors fetch): a path that, printed raw, sets
    # the window title, clears the screen and rings the bell.
    crafted = "/v1/x%1b]0;pwned%07%1b[2J%1b[1;31mred%9b%e2%80%aeevil"
    answer = httpx.get(proxy.base_url + crafted, headers=RT)
    assert answer.status_code == 404  # the upstream's answer to an unknown path, passed on
    found = httpx.get(proxy.base_url + "/__mock__/violations").json()["violations"]
    assert only(found)["rule"] == "unknownOperation"
    assert proxy.stop() == 0  # the summary table is printed too
    console = "".join(proxy.output)
    (line,) = [line for line in proxy.output if line.startswith("convo-mock: violation")]
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in line and "\\u202eevil" in line
    assert not any(c in console for c in "\x1b\x07\x9b\u202e")
    # In the violation line (its message and value) and in the shutdown table.
    assert line.count("x1b]0;pwned") == 2 and console.count("x1b]0;pwned") == 3
