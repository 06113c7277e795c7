"""Reading Schemathesis' NDJSON engine events (`--report ndjson`, Schemathesis 4.32).

Each line is `{"EventName": {...}}`. What we use:
- `ScenarioFinished.recorder`: `cases` (case id → `{"value": {"method", "path", ...}}`,
  the real operation of each step, stateful ones included), `checks` (case id → list of
  `{"name", "status", "failure_info": {"failure": {"code", "title", "message"}}}`) and
  `interactions` (case id → `{"request": {"method", "uri", "headers", "body"},
  "response": {"status_code", "headers", "content"}}`, bodies as `{"$base64": ...}`,
  credentials already replaced by `[Filtered]`);
- `NonFatalError` (`value: {"type", "message"}`, `label`): the server could not be reached
  (a failure of the server) or Schemathesis broke (a tool error: not a verdict);
- `FatalError`, and the absence of `EngineFinished`: Schemathesis broke.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from specs.curl import curl_line
from specs.redact import Redactor

from ...results import Evidence, answered
from ...samples import Sample

# No answer at all within --timeout, or no connection: the network or a slow server, not
# proof that documented behaviour is broken, so an observation.
TRANSPORT_ERRORS = frozenset({"ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout"})
# Exceptions that mean the server answered, but broke its answer (a verdict on the server);
# any other error inside Schemathesis is the tool's.
SERVER_SIDE_ERRORS = frozenset(
    {
        "ChunkedEncodingError",
        "ContentDecodingError",
        "TooManyRedirects",
        "RemoteDisconnected",
        "ProtocolError",
        "ServerUnavailable",
        "UnresponsiveOperationError",
        "UnhealthyAPIError",
    }
)


@dataclass(frozen=True)
class Check:
    name: str  # Schemathesis' own name, e.g. `not_a_server_error`
    status: str  # success, failure, skip
    code: str = ""  # e.g. ST103
    title: str = ""
    message: str = ""


@dataclass
class Case:
    method: str
    path: str  # the spec's path template
    checks: list[Check] = field(default_factory=list)
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] | None = None
    generation_mode: str = ""  # positive or negative

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def status(self) -> int | None:
        return self.response.get("status_code") if self.response else None

    def response_text(self) -> str:
        return _decode(self.response.get("content")) if self.response else ""

    def response_json(self) -> Any:
        try:
            return json.loads(self.response_text())
        except ValueError:
            return None

    def content_type(self) -> str:
        headers = (self.response or {}).get("headers", {})
        for name, values in headers.items():
            if name.lower() == "content-type":
                return str(values[0] if isinstance(values, list) and values else values)
        return "(none)"

    def got(self, redact: Redactor) -> str:
        if self.response is None:
            return "no response"
        return answered(self.status, self.content_type(), self.response_text(), redact)

    def evidence(self, redact: Redactor) -> Evidence:
        return Evidence(self.got(redact), self.curl(redact))

    def curl(self, redact: Redactor) -> str | None:
        uri = self.request.get("uri")
        if not uri:
            return None
        headers = [
            (str(name), str(value))
            for name, values in (self.request.get("headers") or {}).items()
            for value in (values if isinstance(values, list) else [values])
        ]
        return curl_line(self.method, str(uri), headers, _decode(self.request.get("body")), redact)

    def sample(self, api: str, operation_id: str, redact: Redactor) -> Sample:
        uri = urlsplit(str(self.request.get("uri", "")))
        try:
            body = json.loads(_decode(self.request.get("body")) or "null")
        except ValueError:
            body = None
        return Sample(
            api=api,
            operation_id=operation_id,
            method=self.method,
            path=uri.path,
            query=dict(parse_qsl(uri.query, keep_blank_values=True)),
            body=body,
            status=self.status,
            response=self.response_json(),
            curl=self.curl(redact),
            source="schemathesis",
        )


@dataclass(frozen=True)
class Unanswered:
    label: str  # the operation, e.g. `GET /v1/conversations`
    message: str
    transport: bool = False  # no answer within --timeout / no connection: an observation


@dataclass
class Run:
    cases: list[Case] = field(default_factory=list)
    server_errors: list[Unanswered] = field(default_factory=list)
    tool_error: str | None = None
    finished: bool = False


def _decode(body: Any) -> str:
    if isinstance(body, dict) and "$base64" in body:
        return base64.b64decode(body["$base64"]).decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body
    return "" if body is None else json.dumps(body)


def _cases(recorder: dict[str, Any]) -> list[Case]:
    found = []
    interactions = recorder.get("interactions") or {}
    checks = recorder.get("checks") or {}
    for case_id, entry in (recorder.get("cases") or {}).items():
        value = entry.get("value") or {}
        interaction = interactions.get(case_id)
        if interaction is None:
            continue  # generated but never sent
        case = Case(
            method=str(value.get("method", "")).upper(),
            path=str(value.get("path", "")),
            request=interaction.get("request") or {},
            response=interaction.get("response"),
            generation_mode=str(((value.get("meta") or {}).get("generation") or {}).get("mode", "")),
        )
        for check in checks.get(case_id) or []:
            failure = ((check.get("failure_info") or {}).get("failure")) or {}
            case.checks.append(
                Check(
                    name=str(check.get("name", "")),
                    status=str(check.get("status", "")),
                    code=str(failure.get("code", "")),
                    title=str(failure.get("title", "")),
                    message=str(failure.get("message", "")),
                )
            )
        found.append(case)
    return found


def read_events(path: Path) -> Run:
    run = Run()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut short by a stop mid-write
            if not isinstance(event, dict) or len(event) != 1:
                continue
            ((name, data),) = event.items()
            if name == "ScenarioFinished":
                run.cases += _cases(data.get("recorder") or {})
            elif name == "NonFatalError":
                error = data.get("value") or {}
                kind, message = str(error.get("type", "")), str(error.get("message", ""))
                if kind in SERVER_SIDE_ERRORS or kind in TRANSPORT_ERRORS:
                    label, what = str(data.get("label", "")), f"{kind}: {message}"
                    run.server_errors.append(Unanswered(label, what, transport=kind in TRANSPORT_ERRORS))
                elif run.tool_error is None:
                    run.tool_error = f"{kind}: {message} (in {data.get('label', '?')})"
            elif name == "FatalError":
                error = data.get("exception") or {}
                run.tool_error = run.tool_error or f"{error.get('type', 'error')}: {error.get('message', '')}"
            elif name == "EngineFinished":
                run.finished = True
    return run
