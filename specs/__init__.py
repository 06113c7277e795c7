"""The hand-written OpenAPI specs of both APIs, and the one way to load them.

The mock server and the conformance suite read limits, enums and status codes from here at
run time; neither copies them into Python.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ApiName = Literal["runtype", "systemprompt"]
API_NAMES: tuple[ApiName, ...] = ("runtype", "systemprompt")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Operation:
    """One operation of a spec, with every `$ref` under it already resolved."""

    api: str
    method: str  # upper case
    path: str  # the spec's path template, e.g. /v1/conversations/{id}
    operation_id: str
    definition: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]

    @property
    def pointer(self) -> str:
        """Where this operation lives in its file, for reports: `runtype.yaml#/paths/...`."""
        escaped = self.path.replace("~", "~0").replace("/", "~1")
        return f"{self.api}.yaml#/paths/{escaped}/{self.method.lower()}"

    @property
    def statuses(self) -> list[str]:
        return list(self.definition.get("responses", {}))

    @property
    def request_body(self) -> dict[str, Any] | None:
        body: dict[str, Any] | None = self.definition.get("requestBody")
        return body

    def request_schema(self) -> dict[str, Any] | None:
        body = self.request_body
        if body is None:
            return None
        schema: dict[str, Any] = body["content"]["application/json"]["schema"]
        return schema

    def response_schema(self, status: int | str) -> dict[str, Any] | None:
        response = self.definition["responses"].get(str(status))
        if response is None or "content" not in response:
            return None
        schema: dict[str, Any] = response["content"]["application/json"].get("schema", {})
        return schema

    def parameter(self, name: str) -> dict[str, Any] | None:
        return next((p for p in self.parameters if p["name"] == name), None)


@dataclass(frozen=True)
class Spec:
    """A parsed spec: `content` is the document as written, `path` the file it came from."""

    name: str
    path: Path
    content: dict[str, Any]

    @functools.cached_property
    def resolved(self) -> dict[str, Any]:
        """The document with every local `$ref` replaced by a copy of its target."""
        resolved: dict[str, Any] = _resolve(self.content, self.content, ())
        return resolved

    @functools.cached_property
    def operations(self) -> tuple[Operation, ...]:
        result = []
        for path, item in self.resolved["paths"].items():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                definition = item[method]
                own = definition.get("parameters", [])
                names = {(p["name"], p["in"]) for p in own}
                params = tuple(own) + tuple(p for p in shared if (p["name"], p["in"]) not in names)
                result.append(Operation(self.name, method.upper(), path, definition["operationId"], definition, params))
        return tuple(result)

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise KeyError(f"{self.name} has no operation {operation_id!r}")

    def schema(self, name: str) -> dict[str, Any]:
        """A component schema by name, resolved."""
        schema: dict[str, Any] = self.resolved["components"]["schemas"][name]
        return schema

    @property
    def security_schemes(self) -> dict[str, dict[str, Any]]:
        schemes: dict[str, dict[str, Any]] = self.resolved["components"]["securitySchemes"]
        return schemes


def spec_path(name: str) -> Path:
    if name not in API_NAMES:
        raise KeyError(f"unknown API {name!r}; expected one of {', '.join(API_NAMES)}")
    return _HERE / f"{name}.yaml"


@functools.cache
def load(name: str) -> Spec:
    """Load a spec by API name (`runtype` or `systemprompt`). Cached: treat it as read-only."""
    import yaml  # here, not at the top: `import specs` stays cheap for the pytest plugins

    path = spec_path(name)
    with path.open(encoding="utf-8") as handle:
        content = yaml.safe_load(handle)
    return Spec(name, path, content)


def _resolve(node: Any, root: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                raise ValueError(f"recursive $ref {ref}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            merged = copy.deepcopy(_resolve(target, root, (*seen, ref)))
            # OpenAPI 3.1 lets siblings (description, default, ...) stand beside $ref.
            siblings = {k: _resolve(v, root, seen) for k, v in node.items() if k != "$ref"}
            if isinstance(merged, dict):
                merged.update(siblings)
            return merged
        return {k: _resolve(v, root, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root, seen) for v in node]
    return node


__all__ = ["API_NAMES", "ApiName", "Operation", "Spec", "load", "spec_path"]
