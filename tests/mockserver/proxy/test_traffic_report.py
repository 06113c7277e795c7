"""The --json report of proxy mode: a result fails on the violations counted for it, whether
or not an example of each was kept; a server's text in it (and in the record) stays inert."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

import specs
from mockserver.config import MockConfig
from mockserver.proxy import violations as violations_module
from mockserver.proxy.endpoint import ProxyState
from mockserver.proxy.exchange import Exchange, Finding
from mockserver.proxy.record import Recorder
from mockserver.proxy.traffic_report import as_dict, write_json
from mockserver.proxy.violations import pointer, violations_of
from mockserver.runtime import Runtime
from specs.redact import Redactor


def test_a_failure_past_the_examples_kept_still_fails_its_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(violations_module, "MAX_EXAMPLES", 1)
    config = MockConfig(upstreams=(("runtype", "http://127.0.0.1:9"),))
    state = ProxyState(config, Runtime(config))
    for n in range(2):  # two distinct unknown paths: only the first has an example kept
        exchange = Exchange(
            api="runtype",
            method="GET",
            path=f"/v1/other/{n}",
            query_string=b"",
            target=f"/v1/other/{n}".encode(),
            raw_headers=[],
            headers={},
            request_id=n,
        )
        finding = Finding("unknownOperation", pointer("runtype", ("paths",)), "unknown", exchange.path)
        state.violations.record(violations_of(exchange, [("request", finding)], Redactor([])))
    report = as_dict(state, "http://127.0.0.1:8000")
    unknown = [r for r in report["results"] if r["check"] == "unknownOperation"]
    assert [(r["path"], r["status"], len(r["failures"])) for r in unknown] == [
        ("/v1/other/0", "failed", 1),
        ("/v1/other/1", "failed", 0),
    ]
    assert "no example kept" in unknown[1]["note"]
    assert report["exitCode"] == 1 and report["summary"]["failed"] == 2


def test_the_report_and_the_record_show_a_servers_controls_escaped_with_the_same_data(tmp_path: Path) -> None:
    """DEL and C1 controls (U+009B is an 8-bit CSI) reach both files as JSON escapes: nothing
    for a terminal to act on when they are printed, the same text for a JSON reader."""
    hostile = "CSI \x9b2J DEL \x7f NEL \x85 é"
    config = MockConfig(upstreams=(("runtype", "http://127.0.0.1:9"),))
    state = ProxyState(config, Runtime(config))
    exchange = Exchange(
        api="runtype",
        method="GET",
        path=f"/v1/other/{hostile}",
        query_string=b"",
        target=b"/v1/other/x",
        raw_headers=[],
        headers={},
        request_id=1,
    )
    finding = Finding("unknownOperation", pointer("runtype", ("paths",)), hostile, exchange.path)
    state.violations.record(violations_of(exchange, [("request", finding)], Redactor([])))
    report = tmp_path / "traffic.json"
    write_json(state, "http://127.0.0.1:8000", report)

    conversation = {**Runtime(MockConfig()).store.dump()["tenants"]["demo-alice"]["runtype"][0], "title": hostile}
    operation = next(op for op in specs.load("runtype").operations if op.operation_id == "getConversation")
    answered = Exchange(
        api="runtype",
        method="GET",
        path="/v1/conversations/conv_demo1_1",
        query_string=b"",
        target=b"/v1/conversations/conv_demo1_1",
        raw_headers=[],
        headers={},
        status=200,
        response_body=json.dumps(conversation).encode(),
    )
    recorder = Recorder(tmp_path / "record.json", {}, lambda: Redactor([]))
    recorder.observe(operation, answered, "a key")
    asyncio.run(recorder.flush())

    for written in (report, recorder.path):
        assert not re.search(rb"\x7f|\xc2[\x80-\x9f]", written.read_bytes()), written.name
    (failure,) = next(r for r in json.loads(report.read_bytes())["results"] if r["failures"])["failures"]
    assert hostile in failure["expected"]
    assert json.loads(recorder.path.read_bytes())["tenants"]["tenant-1"]["runtype"][0]["title"] == hostile
