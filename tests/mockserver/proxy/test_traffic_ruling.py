"""The suite's leeway for the proxy's shape findings: an observation where the documentation
leaves the answer open, a violation everywhere else."""

from __future__ import annotations

import pytest

import specs
from mockserver.proxy.exchange import Finding
from mockserver.proxy.traffic_check import OperationChecks
from mockserver.proxy.traffic_ruling import ruled


def _ruled(api: str, operation_id: str, status: int, rule: str, media: str = "application/json") -> bool:
    """Whether the finding stays a violation."""
    checks = OperationChecks(specs.load(api).operation(operation_id))
    body = b'{"error": "x"}' if "json" in media else b"<html>404</html>"
    (finding,) = ruled(checks, status, [Finding(rule, "p", "m", None)], media, body)
    return not finding.observation


@pytest.mark.parametrize(
    ("api", "operation_id", "status", "rule", "violation"),
    [
        ("runtype", "getConversation", 404, "type", False),  # error bodies: rule 6
        ("runtype", "getConversation", 200, "contentType", True),
        ("runtype", "createConversation", 500, "contentType", True),  # a 5xx stays a failure
        ("runtype", "createConversation", 422, "status", True),  # 400 is documented for this error
        ("systemprompt", "updateConversation", 422, "status", False),  # no error status documented
        ("systemprompt", "listConversations", 403, "status", False),  # a bad key's 4xx: our rule 9
        ("systemprompt", "listConversations", 503, "status", True),
        ("runtype", "listConversations", 400, "incompleteResponse", True),
    ],
)
def test_open_points_are_observations(api: str, operation_id: str, status: int, rule: str, violation: bool) -> None:
    assert _ruled(api, operation_id, status, rule) is violation


def test_an_error_answer_of_another_json_type_is_an_observation_one_not_json_a_violation() -> None:
    assert not _ruled("runtype", "getConversation", 404, "contentType", "application/problem+json")
    assert _ruled("runtype", "getConversation", 404, "contentType", "text/html")  # issue 20: no JSON at all
