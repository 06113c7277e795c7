"""Every setting of a conformance run, once: its CLI option, environment variable, pytest
option and ini key, default and validation. The CLI (`cli.py`) and the pytest plugin
(`pytest_plugin.py`) both build their options from `SETTINGS` and both turn raw values
into a `RunSettings` with `resolve`, so a setting cannot mean two things.

Light to import (the pytest plugin reads `SETTINGS` at every pytest start): the HTTP side
(`target.py`) is imported only when settings are resolved.

Validation happens here, before any request: numbers finite and in range, keys printable
without stray whitespace (a key is never echoed back), base URLs normalised once, report
paths writable. A problem raises `SettingError` with one line naming the setting.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import specs
from specs.integers import ascii_int
from specs.paths import unwritable
from specs.redact import Secret

if TYPE_CHECKING:
    from .target import Target


FAMILIES = ("schemathesis", "boundaries", "auth", "semantics", "model")
# Seconds a request may take, whole response included: the default of `--timeout`.
DEFAULT_TIMEOUT = 10.0
# The model family's default budget per API (`--model-examples`, `--model-steps`,
# `--model-seconds`): a full run of both APIs against the mock stays well under 90 s.
MODEL_EXAMPLES, MODEL_STEPS, MODEL_SECONDS = 100, 12, 25.0
ALL = "all"
# CPython before 3.13 can die with `SystemError: AST constructor recursion depth mismatch`
# when Hypothesis describes lambdas from several threads at once (gh-106905): Schemathesis'
# `--workers N` are threads. One worker there; the measured cost is in docs/suite.md.
THREAD_SAFE_AST = sys.version_info >= (3, 13)
WORKERS_LIMIT = "1 on CPython < 3.13, where threaded Hypothesis can crash the interpreter (gh-106905)"


class SettingError(ValueError):
    """A bad, missing or contradictory setting: one line, naming it; exit 2."""


@dataclass(frozen=True)
class Setting:
    name: str  # the attribute, e.g. "base_url"
    help: str
    default: Any = None
    parse: Callable[[str, str], Any] | None = None  # (raw text, label) -> value; None keeps the text
    flag: bool = False  # a switch: present or absent, env "1"/"true"/"yes"
    pytest: bool = True  # offered as a pytest option and ini key too
    metavar: str | None = None  # what goes after the option in --help (URL, KEY, N, PATH...); None for a switch

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "CONVO_" + self.name.upper()

    @property
    def pytest_option(self) -> str:
        # The plugin's options live in pytest's namespace: prefixed, and --base-url is --contract-url.
        return "--contract-" + ("url" if self.name == "base_url" else self.name.replace("_", "-"))

    @property
    def pytest_dest(self) -> str:
        return "convo_contract_" + self.name

    @property
    def ini(self) -> str:
        return "convo_contract_" + ("url" if self.name == "base_url" else self.name)


# --- parsers: (raw text, the label to name in an error) -> value -------------------------


def _int(raw: str, label: str) -> int:
    """ASCII digits only (`specs.integers`), as the mock reads its own: `２` or `1_0` is no number."""
    value = ascii_int(raw, signed=True)
    if value is None:
        raise SettingError(f"{label} must be a whole number in ASCII digits, got {raw!r}")
    return value


def _positive_int(raw: str, label: str) -> int:
    value = _int(raw, label)
    if value < 1:
        raise SettingError(f"{label} must be at least 1, got {value}")
    return value


def _seconds(raw: str, label: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{label} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise SettingError(f"{label} must be a finite number of seconds above 0, got {raw!r}")
    return value


def _api(raw: str, label: str) -> str:
    if raw not in (*specs.API_NAMES, ALL):
        raise SettingError(f"{label} must be one of {', '.join((*specs.API_NAMES, ALL))}, got {raw!r}")
    return raw


def _families(raw: str, label: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip() for f in raw.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown or not chosen:
        raise SettingError(
            f"{label}: unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown) or '(none given)'}; "
            f"choose from {','.join(FAMILIES)}"
        )
    return chosen


def _key(raw: str, label: str) -> Secret:
    # The key itself is never part of the message: it may be a real one with a typo.
    if not raw:
        raise SettingError(f"{label} is empty")
    if raw != raw.strip():
        raise SettingError(
            f"{label} has leading or trailing whitespace (e.g. a '\\r' from a CRLF file); "
            "the key is not shown: strip it and retry"
        )
    if not raw.isprintable() or not raw.isascii():
        raise SettingError(f"{label} holds a character that cannot go in an HTTP header; the key is not shown")
    return Secret(raw)


def normalise_url(raw: str, label: str) -> str:
    """The base URL, once: scheme and host lower case, default port dropped, no trailing
    slash; refused when it cannot be one (not http(s), a query, or the API's own `/v1`)."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError as exc:
        raise SettingError(f"{label} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(f"{label} must be an http(s) URL such as https://api.example.com")
    if parts.query or parts.fragment:
        raise SettingError(f"{label} must not carry a query or fragment")
    path = parts.path.rstrip("/")
    if path.lower().endswith("/v1"):
        raise SettingError(
            f"{label} ends in /v1, but the API's paths already start with /v1 (requests would go to /v1/v1/...): "
            f"drop the /v1, e.g. {scheme}://{parts.netloc.rpartition('@')[2]}{path[:-3]}"
        )
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    return urlunsplit((scheme, netloc, path, "", ""))


def _report_path(raw: str, label: str) -> Path:
    path = Path(raw)
    problem = unwritable(path)
    if problem is not None:
        raise SettingError(f"{label} {raw} {problem}")
    return path


def _percent(raw: str, label: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{label} must be a percentage, got {raw!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise SettingError(f"{label} must be a percentage from 0 to 100, got {raw!r}")
    return value


def _bool(raw: str, label: str) -> bool:
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise SettingError(f"{label} must be true or false, got {raw!r}")


URL, KEY, N, SECONDS, PATH = "URL", "KEY", "N", "SECONDS", "PATH"


def _per_api() -> list[Setting]:
    rows = []
    for api in specs.API_NAMES:
        rows += [
            Setting(
                f"{api}_url",
                f"base URL of the {api} deployment (default: --base-url)",
                parse=normalise_url,
                metavar=URL,
            ),
            Setting(f"{api}_key", f"the {api} key to test with (default: --api-key)", parse=_key, metavar=KEY),
            Setting(f"{api}_other_key", f"another tenant's {api} key (default: --other-key)", parse=_key, metavar=KEY),
            Setting(f"{api}_readonly_key", f"a read-only {api} key (default: --readonly-key)", parse=_key, metavar=KEY),
        ]
    return rows


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "api",
        f"the API(s) to check: {', '.join(specs.API_NAMES)} or {ALL}",
        default=ALL,
        parse=_api,
        metavar="{" + ",".join((*specs.API_NAMES, ALL)) + "}",
    ),
    Setting("base_url", "the deployment; both APIs' paths start with /v1 under it", parse=normalise_url, metavar=URL),
    Setting("api_key", "the key to test with", parse=_key, metavar=KEY),
    Setting("other_key", "a key of another tenant: tenant-isolation checks", parse=_key, metavar=KEY),
    Setting("readonly_key", "a read-only key: its Runtype writes must be 403", parse=_key, metavar=KEY),
    *_per_api(),
    Setting(
        "only",
        f"comma-separated families: {','.join(FAMILIES)}",
        default=FAMILIES,
        parse=_families,
        pytest=False,
        metavar="FAMILY,...",
    ),
    Setting("max_examples", "Schemathesis examples per operation", default=25, parse=_positive_int, metavar=N),
    Setting(
        "seed",
        "seed of Schemathesis and the model family: the same seed replays the same run",
        default=0,
        parse=_int,
        metavar=N,
    ),
    Setting("workers", f"Schemathesis workers (threads); {WORKERS_LIMIT}", default=2, parse=_positive_int, metavar=N),
    Setting(
        "model_examples",
        "model family: operation sequences tried per API",
        default=MODEL_EXAMPLES,
        parse=_positive_int,
        metavar=N,
    ),
    Setting(
        "model_steps",
        "model family: the most steps in one sequence",
        default=MODEL_STEPS,
        parse=_positive_int,
        metavar=N,
    ),
    Setting(
        "model_seconds",
        "model family: seconds per API before it stops sending",
        default=MODEL_SECONDS,
        parse=_seconds,
        metavar=SECONDS,
    ),
    Setting(
        "timeout",
        "seconds a request may take, whole response included",
        default=DEFAULT_TIMEOUT,
        parse=_seconds,
        metavar=SECONDS,
    ),
    Setting(
        "max_duration",
        "seconds the whole run may take before it stops",
        default=1800.0,
        parse=_seconds,
        metavar=SECONDS,
    ),
    Setting("read_only", "only requests that cannot change data: safe against production", default=False, flag=True),
    Setting("strict", "observations (answers where the docs leave the choice open) fail too", default=False, flag=True),
    Setting(
        "systemprompt_id",
        "the systemprompt.io conversation uuid to work on (default: the first listed)",
        metavar="UUID",
    ),
    Setting("junit_xml", "write JUnit XML here", parse=_report_path, pytest=False, metavar=PATH),
    Setting("json", "write the JSON report here", parse=_report_path, pytest=False, metavar=PATH),
    Setting("html", "write a self-contained HTML report here (works offline)", parse=_report_path, metavar=PATH),
    Setting(
        "markdown",
        "write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY)",
        parse=_report_path,
        metavar=PATH,
    ),
    Setting(
        "fail_under", "exit 1 when overall spec coverage is below this percentage", parse=_percent, metavar="PERCENT"
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class RunSettings:
    """What a run needs: one Target per API, the families, and where reports go."""

    apis: tuple[str, ...]
    families: tuple[str, ...]
    targets: Mapping[str, Target]
    junit_xml: Path | None = None
    json: Path | None = None
    html: Path | None = None
    markdown: Path | None = None
    fail_under: float | None = None

    @property
    def strict(self) -> bool:
        return any(t.strict for t in self.targets.values())

    @property
    def first(self) -> Target:
        return self.targets[self.apis[0]]


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The raw values the environment sets, by setting name."""
    environ = os.environ if environ is None else environ
    return {s.name: environ[s.env] for s in SETTINGS if environ.get(s.env) not in (None, "")}


def label(setting: Setting, *, pytest: bool = False) -> str:
    return f"{setting.pytest_option if pytest else setting.option} (env {setting.env})"


def parse_values(raw: Mapping[str, Any], *, pytest: bool = False) -> dict[str, Any]:
    """Raw text (or a switch's bool) by name → parsed values, every setting present."""
    unknown = set(raw) - set(BY_NAME)
    if unknown:
        raise SettingError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = raw.get(setting.name)
        if value is None:
            values[setting.name] = setting.default
        elif setting.flag:
            values[setting.name] = (
                value if isinstance(value, bool) else _bool(str(value), label(setting, pytest=pytest))
            )
        elif setting.parse is not None:
            values[setting.name] = setting.parse(str(value), label(setting, pytest=pytest))
        else:
            values[setting.name] = str(value)
    return values


def resolve(raw: Mapping[str, Any], *, pytest: bool = False, now: float | None = None) -> RunSettings:
    """Validate `raw` (by setting name) and build one Target per selected API."""
    from .target import Target  # the HTTP side, imported when a run is set up (the plugin loads this module)

    v = parse_values(raw, pytest=pytest)

    def name(setting: str) -> str:
        return label(BY_NAME[setting], pytest=pytest)

    apis = tuple(specs.API_NAMES) if v["api"] == ALL else (v["api"],)
    per_api: dict[str, dict[str, Any]] = {}
    for api in apis:
        chosen = {
            "base_url": v[f"{api}_url"] or v["base_url"],
            "api_key": v[f"{api}_key"] or v["api_key"],
            "other_key": v[f"{api}_other_key"] or v["other_key"],
            "readonly_key": v[f"{api}_readonly_key"] or v["readonly_key"],
        }
        if not chosen["base_url"]:
            raise SettingError(f"no base URL for {api}: give {name('base_url')} or {name(api + '_url')}")
        if not chosen["api_key"]:
            raise SettingError(f"no API key for {api}: give {name('api_key')} or {name(api + '_key')}")
        for other, why in (("other_key", "another tenant's key"), ("readonly_key", "a read-only key")):
            if chosen[other] is not None and chosen[other] == chosen["api_key"]:
                raise SettingError(
                    f"the {other.replace('_', '-')} for {api} is the same as its API key; it must be {why}"
                )
        per_api[api] = chosen
    keys = [k for chosen in per_api.values() for k in (chosen["api_key"], chosen["other_key"], chosen["readonly_key"])]
    # A password in a base URL is a secret too: redacted wherever the run writes.
    passwords = [urlsplit(chosen["base_url"]).password for chosen in per_api.values()]
    secrets = tuple(s for s in [*keys, *passwords] if s)
    deadline = (time.monotonic() if now is None else now) + v["max_duration"]
    targets = {
        api: Target(
            **chosen,
            timeout=v["timeout"],
            read_only=v["read_only"],
            systemprompt_id=v["systemprompt_id"] if api == "systemprompt" else None,
            max_examples=v["max_examples"],
            seed=v["seed"],
            workers=v["workers"],
            model_examples=v["model_examples"],
            model_steps=v["model_steps"],
            model_seconds=v["model_seconds"],
            strict=v["strict"],
            deadline=deadline,
            run_secrets=secrets,
        )
        for api, chosen in per_api.items()
    }
    return RunSettings(
        apis, tuple(v["only"]), targets, v["junit_xml"], v["json"], v["html"], v["markdown"], v["fail_under"]
    )
