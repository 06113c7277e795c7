"""A real run against an app served on 127.0.0.1, with the samples it recorded
(`RunResult.samples`), for the report tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from contracts.results import RunResult
from contracts.runner import run
from contracts.samples import Sample
from contracts.settings import RunSettings
from contracts.target import Target
from mockserver.background import BackgroundServer


def recorded_run(
    app: Any, apis: list[str], families: list[str], **target: Any
) -> tuple[RunResult, Target, list[Sample]]:
    """A real run of `families` against `app` served on 127.0.0.1, with its samples."""
    target_obj = Target(base_url="", api_key=target.pop("api_key", "demo-alice"), **target)
    with BackgroundServer(app) as server:
        target_obj = replace(target_obj, base_url=server.base_url)
        result = run(target_obj, apis, families)
    assert result.samples, "the run recorded no samples"
    return result, target_obj, list(result.samples)


def settings_for(target: Target, apis: list[str], families: list[str]) -> RunSettings:
    """The settings of a run of `families` against `target` for every API in `apis`."""
    return RunSettings(tuple(apis), tuple(families), dict.fromkeys(apis, target))
