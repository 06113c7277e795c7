"""The hostile corpus itself: named entries, each described, covering every harm issue 18 names."""

from corpus.hostile import BY_NAME, HOSTILE


def test_every_entry_is_named_once_and_described() -> None:
    assert len(BY_NAME) == len(HOSTILE) >= 20
    assert all(h.description and h.name.isidentifier() for h in HOSTILE)


def test_the_corpus_covers_every_harm_of_issue_18() -> None:
    assert {h.harm for h in HOSTILE} == {"key", "terminal", "report", "protocol", "memory"}
    named = {
        "key_in_bodies", "key_in_headers", "key_in_errors", "key_as_id", "key_json_escaped",
        "terminal_escapes_in_bodies", "bare_carriage_returns", "bidi_and_zero_width", "markdown_and_html",
        "xml_illegal_characters", "status_999", "gzip_then_chunked", "huge_body", "endless_body", "slow_drip",
    }  # fmt: skip
    assert named <= set(BY_NAME)
