"""The violation log's bounds: every field cut, and what a flood of hostile requests costs.

Measured in-process with tracemalloc (exact, and blind to the machine's load): violations made
by `violations_of` (what the endpoint records) from exchanges at the limits a client can send,
kept by `ViolationLog`.
"""

from __future__ import annotations

import gc
import logging
import tracemalloc
from collections.abc import Iterator

import pytest

from mockserver.proxy.exchange import Exchange, Finding
from mockserver.proxy.violations import (
    MAX_EXAMPLES,
    MAX_ROWS,
    MESSAGE_LIMIT,
    PATH_LIMIT,
    VALUE_LIMIT,
    ViolationLog,
    pointer,
    violations_of,
)
from specs.curl import NOISE
from specs.redact import REDACTED, Redactor

# docs/proxy.md: "under 64 MiB". Measured: 16 MiB with ASCII URLs, 50 MiB with
# 4-byte characters (what the test floods with: Python keeps such text at 4 bytes each).
BOUND = 64 * 1024 * 1024
KEY = "sk-live-0123456789abcdef"
URL_BYTES = 60_000  # a request head holds at most 64 KiB (MockConfig.max_header_bytes)


@pytest.fixture(autouse=True)
def quiet() -> Iterator[None]:
    """The log prints each violation; not needed here."""
    logger = logging.getLogger("mockserver.proxy.violations")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def hostile(n: int, char: str) -> Exchange:
    """An unknown operation with a 60 KB path of `char` (an astral one costs four bytes a
    character in Python), a 60 KB query, a long JSON body and the key in each."""
    fill = char * (URL_BYTES // len(char.encode()))
    path = f"/v1/x{n}/{KEY}/{fill}"
    return Exchange(
        api="runtype",
        method="POST",
        path=path,
        query_string=f"a={KEY}&q={'q' * URL_BYTES}".encode(),
        target=path.encode(),
        raw_headers=[],
        headers={"host": "127.0.0.1:8000", "content-type": "application/json", "authorization": f"Bearer {KEY}"},
        body=f'{{"title": "{fill}", "key": "{KEY}"}}'.encode(),
        credential=KEY,
        request_id=n,
    )


def record(log: ViolationLog, exchange: Exchange, redactor: Redactor) -> None:
    what = f"{exchange.method} {exchange.path}"
    finding = Finding("unknownOperation", pointer("runtype", ("paths",)), f"{what} is not an operation", what)
    log.record(violations_of(exchange, [("request", finding)], redactor))


def test_every_field_is_cut_and_redacted() -> None:
    redactor = Redactor([KEY])
    log = ViolationLog()
    record(log, hostile(1, "p"), redactor)
    (violation,) = log.read()["violations"]
    assert len(violation["path"]) <= PATH_LIMIT and len(violation["message"]) <= MESSAGE_LIMIT
    assert len(violation["value"]) <= VALUE_LIMIT
    # The curl line: path, query and body cut, two headers of at most 500 characters.
    assert len(violation["curl"]) < 2_500
    assert violation["curl"].startswith("curl -X POST 'http://127.0.0.1:8000/v1/x1/%5BREDACTED%5D/ppp")
    text = str(violation)
    assert KEY not in text and REDACTED in violation["path"] and REDACTED in violation["curl"]
    assert "authorization: Bearer [REDACTED]" in violation["curl"] and "host" in NOISE


def test_a_flood_of_violations_with_60_kb_urls_stays_within_the_bound() -> None:
    char = "\U0001d54f"  # the costliest text: 4 bytes a character in memory
    redactor = Redactor([KEY])
    log = ViolationLog()
    record(log, hostile(0, char), redactor)  # anything cached on first use, before measuring
    # Each violation is its own distinct failure: the log keeps the latest 1,000, the first
    # MAX_EXAMPLES examples and MAX_ROWS summary rows; more cannot cost more.
    count = MAX_ROWS
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1, count + 1):
            record(log, hostile(n, char), redactor)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert (len(log.entries), len(log.examples), len(log.counts)) == (1_000, MAX_EXAMPLES, MAX_ROWS + 1)
    assert log.total == count + 1
    assert held < BOUND, f"{held / 2**20:.1f} MiB for {count} violations"


def test_console_lines_number_violations_by_their_own_count() -> None:
    """`violation 3 (request #9)`: the console counts violations, the request id stays beside."""
    import re

    lines: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Lines()
    logger = logging.getLogger("mockserver.proxy.violations")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        redactor = Redactor([KEY])
        log = ViolationLog()
        for request_id in (5, 5, 9):
            record(log, hostile(request_id, "p"), redactor)
        log.clear()
        record(log, hostile(12, "p"), redactor)
    finally:
        logger.removeHandler(handler)
    parsed = [re.match(r"(violation|observation) (\d+) \(request #(\d+)\) ", line) for line in lines]
    assert [m.groups() if m else None for m in parsed] == [
        ("violation", "1", "5"),
        ("violation", "2", "5"),
        ("violation", "3", "9"),
        ("violation", "1", "12"),  # the log was cleared: counting starts over
    ]
