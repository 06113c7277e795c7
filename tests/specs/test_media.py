"""Whether an answer is JSON where the spec documents only JSON bodies (rule 6 leaves an
error's fields open, not its media type)."""

from __future__ import annotations

import specs
from specs.media import not_json

GET = specs.load("runtype").operation("getConversation")
HTML = "<html><body><h1>404 Not Found</h1></body></html>"


def test_not_json_only_where_the_spec_documents_json_only() -> None:
    delete = specs.load("runtype").operation("deleteConversation")
    assert not_json(GET, 404, "text/html", HTML) == "text/html is not a JSON media type"
    assert not_json(GET, 404, "application/json; charset=utf-8", "") == "the body is not JSON"
    assert not_json(GET, 404, "application/vnd.api+json", "{}") is None
    assert "204" in delete.statuses and not_json(delete, 204, "", "") is None  # no body documented
    assert not_json(GET, 599, "text/html", HTML) is None  # a status the spec does not give
