"""Every exchange of our families with a spec operation becomes a coverage sample."""

from typing import Any

from contracts.runner import run
from contracts.target import Target


def test_a_run_keeps_one_sample_per_exchange(serve: Any) -> None:
    target = Target(base_url=serve(None), api_key="demo-alice")
    result = run(target, ["runtype"], ["boundaries"])
    assert result.samples and {s.source for s in result.samples} == {"families"}
    listing = [s for s in result.samples if s.operation_id == "listConversations"]
    assert any(s.query.get("limit") == "0" and s.status == 400 for s in listing)
    created = [s for s in result.samples if s.operation_id == "createConversation" and s.status == 201]
    assert created and all(isinstance(s.body, dict) and isinstance(s.response, dict) for s in created)
    assert all("demo-alice" not in (s.curl or "") for s in result.samples)
