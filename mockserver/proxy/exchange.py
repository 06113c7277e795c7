"""One exchange through the proxy, as one object: what the client sent, what the proxy held of
it, what the upstream answered, what the checks found, and the names the exchange goes by (the
journal's `requestId`, the credential it carried).

`ProxyEndpoint` creates one per request and hands it from step to step; the checks
(`traffic_check.py`), the recorder and anything else that watches traffic read it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import QueryParams

if TYPE_CHECKING:
    from .traffic_check import OperationChecks
    from .upstream_client import Response


UNPARSED: Any = object()  # a body not parsed (yet): none, not JSON, or no check read it


class DecodedHeaders(Mapping[str, str]):
    """A request's raw ASGI headers as a mapping by lower-case name (a repeated header keeps
    its last value), decoded on first use: most requests' are never asked for by name."""

    __slots__ = ("_decoded", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._decoded: dict[str, str] | None = None

    def _dict(self) -> dict[str, str]:
        if self._decoded is None:
            # ASGI servers give header names in lower case.
            self._decoded = {k.decode("latin-1"): v.decode("latin-1") for k, v in self._raw}
        return self._decoded

    def __getitem__(self, name: str) -> str:
        return self._dict()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        # Names only: a value may be a credential, and a repr can reach a log or a traceback.
        return f"DecodedHeaders({sorted(self._dict())!r})"


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule: its name, where the spec writes it, what the message says, the value;
    for the behaviour monitor's, whether it is only an observation and the earlier exchanges
    (requestIds) it rests on."""

    rule: str
    pointer: str
    message: str
    value: Any
    observation: bool = False
    rests_on: tuple[int, ...] = ()


@dataclass(slots=True, eq=False)
class Exchange:
    """One request through the proxy and, once it came back, the upstream's answer."""

    # The request, as it arrived.
    api: str
    method: str
    path: str  # percent-decoded, as the router saw it
    query_string: bytes
    target: bytes  # path and query as sent: what is forwarded
    # Headers and credential stay out of the repr: a repr can reach a log or a traceback.
    raw_headers: list[tuple[bytes, bytes]] = field(repr=False)  # as sent: what is forwarded (less the hop-by-hop ones)
    headers: Mapping[str, str] = field(repr=False)  # lower-case names; a repeated header keeps its last value
    scheme: str = "http"  # how the client reached the proxy
    path_params: Mapping[str, str] = field(default_factory=dict)
    checks: OperationChecks | None = None  # the operation's checks; None: not an operation of the spec
    credential: str | None = field(default=None, repr=False)  # the key it carried, by its API's security scheme
    request_id: int = 0  # the journal entry's requestId, which its violations name
    # What the proxy held of the request body: all of it (`body`), or its first part when it
    # is longer than the buffer (then `body` is None: streamed on, not checked).
    held: bytes = b""
    body: bytes | None = None
    # The upstream's answer: status and headers once they are in, the body when it was held.
    upstream: Response | None = None
    status: int = 0
    response_headers: Mapping[str, str] | None = None
    response_body: bytes | None = None  # decoded for the checks; None: too large, not checked
    answered: bool = False  # its status and headers went out to the client
    # The bodies as parsed JSON, once a check parsed them (UNPARSED until then).
    request_json: Any = UNPARSED
    response_json: Any = UNPARSED
    # What the checks found, and how many of them are already recorded as violations.
    request_findings: list[Finding] = field(default_factory=list)
    response_findings: list[Finding] = field(default_factory=list)
    # The behaviour monitor's (monitor.py): this answer against its request and earlier exchanges.
    behaviour_findings: list[Finding] = field(default_factory=list)
    recorded: int = 0
    watch: Any = None  # the monitor's note of the exchange while it is in flight
    _query: Mapping[str, str] | None = field(default=None, init=False, repr=False)

    @property
    def query(self) -> Mapping[str, str]:
        """The query parameters, parsed on first use (most requests' are never asked for)."""
        if self._query is None:
            self._query = QueryParams(self.query_string)
        return self._query

    @property
    def findings(self) -> int:
        """The violations among the findings (what X-Convo-Violations counts): not observations."""
        if not (self.request_findings or self.response_findings or self.behaviour_findings):
            return 0
        found = (*self.request_findings, *self.response_findings, *self.behaviour_findings)
        return sum(not f.observation for f in found)


__all__ = ["UNPARSED", "DecodedHeaders", "Exchange", "Finding"]
