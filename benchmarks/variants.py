"""The mock as shipped, and variants of it that undo one hardening measure, for before/after
numbers: `python benchmarks/variants.py NAME PORT` serves one on 127.0.0.1:PORT.

- `mock`: as `convo-mock` builds it.
- `inline-parse`: large bodies parsed on the event loop, as before bodies went to a thread.
- `small-journal`: a journal of 1 entry: what the mock costs once the journal no longer keeps
  parsed bodies (the journal's own byte cap is separate work).
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette

from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.protocol import bounded_protocol


def build(name: str) -> Starlette:
    if name == "mock":
        return create_app(MockConfig())
    if name == "inline-parse":
        return create_app(MockConfig(parse_in_thread_bytes=sys.maxsize))
    if name == "small-journal":
        return create_app(MockConfig(journal_size=1))
    raise SystemExit(f"unknown variant {name!r}")


if __name__ == "__main__":
    variant, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(
        build(variant),
        host="127.0.0.1",
        port=port,
        log_level="error",
        access_log=False,
        http=bounded_protocol(MockConfig.max_header_bytes),
    )
