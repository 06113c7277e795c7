"""The --json report of proxy mode: a result fails on the violations counted for it, whether
or not an example of each was kept."""

from __future__ import annotations

import pytest

from mockserver.config import MockConfig
from mockserver.proxy import violations as violations_module
from mockserver.proxy.endpoint import ProxyState
from mockserver.proxy.exchange import Exchange, Finding
from mockserver.proxy.traffic_report import as_dict
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
