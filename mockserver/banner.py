"""What `convo-mock` prints when it starts: the running mock described, as data, then as text.

The banner is how a first user gets started, so each line answers a question they have: which
keys work (a demo key verbatim, it is public; any other by its label, never its value), a curl
line that answers something (a key whose tenant has data, when a seed or recording is loaded),
what is switched on (faults, chaos, a control token: never its value), and in proxy mode where
each API goes and what is checked there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from specs.auth import scheme_of
from specs.redact import redact_url
from specs.text import printable

from .api.auth import ApiKey, is_demo, label_of
from .config import CONTROL_TOKEN_ENV, MockConfig
from .guard import CONTROL_AUTH
from .runtime import Runtime

# The path each API's Try line asks for: its list, or for systemprompt one of the tenant's
# conversations when it has one.
_TRY_PATHS = {"runtype": "/v1/conversations", "systemprompt": "/v1/conversation"}


def shown_key(key: ApiKey) -> str:
    """How the banner shows a key: a demo key verbatim (it is public), any other by its label."""
    if is_demo(key.key):
        return key.key
    return f"<{key.name}'s key>" if key.name else f"<{label_of(key.key)}>"


@dataclass(frozen=True)
class KeyLine:
    shown: str  # what a curl line carries: the demo key itself, or a placeholder
    label: str  # the journal's and dashboard's name for it
    readonly: bool


@dataclass(frozen=True)
class TryLine:
    api: str
    curl: str
    proxied: bool  # to the upstream: the user's own key goes in it


@dataclass(frozen=True)
class Banner:
    url: str
    apis: tuple[str, ...]
    keys: tuple[KeyLine, ...]  # the mocked APIs' keys; empty when every API is proxied
    try_as: str | None  # whose key the Try lines use, and how to get it when it is not shown
    tries: tuple[TryLine, ...]
    faults: tuple[str, ...]  # the --fault rules, as given
    chaos: tuple[str, ...]  # latency, error rate, seed: only the ones switched on
    control_token: bool  # whether /__mock__/ wants a token (its value is never shown)
    upstreams: dict[str, str] = field(default_factory=dict)  # API → upstream URL, redacted
    checks: tuple[str, ...] = ()  # proxy mode: what is checked on the way through

    def text(self) -> str:
        mocked = [api for api in self.apis if api not in self.upstreams]
        lines = [f"convo-mock serving {' and '.join(self.apis)} at {self.url}"]
        if self.upstreams:
            lines += ["", "Proxy mode: forwarding and checking"]
            lines += [f"  {api} → {url}" for api, url in self.upstreams.items()]
            lines += [f"  {api} → mocked here" for api in mocked]
            lines += ["Checked:", *(f"  {check}" for check in self.checks)]
        if self.keys:
            whose = " and ".join(mocked)
            lines += [
                "",
                f"API keys for {whose} (each its own tenant):" if self.upstreams else "API keys (each its own tenant):",
            ]
            lines += [f"  {k.shown}{_notes(k)}" for k in self.keys]
        lines += ["", f"Try{f' ({self.try_as})' if self.try_as else ''}:"]
        lines += [f"  {t.curl}" for t in self.tries]
        if self.faults or self.chaos:
            lines += ["", "Chaos on from the start (change or clear it: PUT /__mock__/chaos, or the dashboard):"]
            lines += [f"  {setting}" for setting in self.chaos]
            lines += [f"  --fault {printable(rule)}" for rule in self.faults]
        lines += ["", f"Dashboard: {self.url}/__mock__/ (live requests, state, chaos)"]
        if self.control_token:
            header = ", ".join(f"{n}: {v}" for n, v in CONTROL_AUTH.headers("<token>").items())
            lines += [f"Control token: required on /__mock__/ ('{header}', the token given to --control-token)"]
        else:
            lines += [f"Control token: none required (set {CONTROL_TOKEN_ENV} or --control-token to require one)"]
        lines += [f"Control plane: {self.url}/__mock__/health, /__mock__/requests, /__mock__/state (see docs/mock.md)"]
        return "\n".join(lines)


def _notes(key: KeyLine) -> str:
    notes = ["read-only: writes answer 403"] if key.readonly else []
    notes += [f"{key.label} in the journal and dashboard"] if is_demo(key.shown) else []
    return f"  ({', '.join(notes)})" if notes else ""


def _conversations(runtime: Runtime, tenant: str, apis: list[str]) -> int:
    data = runtime.store.tenants.get(tenant)
    if data is None:
        return 0
    counts = {"runtype": len(data.runtype.by_id), "systemprompt": len(data.systemprompt)}
    return sum(counts[api] for api in apis)


def _try_key(config: MockConfig, runtime: Runtime, mocked: list[str]) -> tuple[ApiKey | None, str | None]:
    """The key the Try lines use: one whose tenant has conversations (a writable one first),
    so that the first curl answers something; and how to get it when the banner cannot show it."""
    keys = list(runtime.keys)
    if not keys or not mocked:
        return None, None
    order = list(runtime.store.tenants)
    with_data = [k for k in keys if _conversations(runtime, k.tenant, mocked)]
    chosen = next((k for k in with_data if not k.readonly), with_data[0] if with_data else None)
    chosen = chosen or next((k for k in keys if not k.readonly), keys[0])
    count = _conversations(runtime, chosen.tenant, mocked)
    has = f"{count} conversation{'s' if count != 1 else ''}"
    label = chosen.label
    if is_demo(chosen.key):
        return chosen, f"as {label}, {has}"
    if chosen.name is not None or chosen in config.keys:
        how = f"--key {chosen.name}=…" if chosen.name else "--key"
        return chosen, f"as {label}, {has}: put in the key you gave as {how}"
    source = config.state_file if config.state_file is not None and config.state_file.exists() else config.seed_file
    where = f" in {printable(str(source))}" if isinstance(source, Path) else ""
    position = order.index(chosen.tenant) + 1 if chosen.tenant in order else 0
    return chosen, f'as {label}, {has}: its key is the name of tenant #{position} under "tenants"{where}'


def describe(url: str, config: MockConfig, runtime: Runtime, upstreams: dict[str, str] | None = None) -> Banner:
    """The banner of this mock, as data: what `text()` prints and what tests read."""
    upstreams = upstreams or {}
    mocked = [api for api in config.apis if api not in upstreams]
    key, try_as = _try_key(config, runtime, mocked)
    tries = []
    for api in config.apis:
        proxied = api in upstreams
        if proxied:
            token, sample = f"<your {api} key>", None
        else:
            token = shown_key(key) if key is not None else "<KEY>"
            data = runtime.store.tenants.get(key.tenant) if key is not None else None
            sample = next(iter(data.systemprompt), None) if data is not None else None
        path = f"/v1/conversation/{sample}" if api == "systemprompt" and sample else _TRY_PATHS[api]
        header = " ".join(f"-H '{name}: {value}'" for name, value in scheme_of(api).headers(token).items())
        tries.append(TryLine(api, f"curl {header} {url}{path}", proxied))
    settings = runtime.chaos.settings
    chaos = [f"latency {settings.latency_ms} ms on every API answer"] if settings.latency_ms else []
    if settings.error_rate:
        seeded = f", random seed {settings.random_seed}" if settings.random_seed is not None else ""
        chaos.append(f"error rate {settings.error_rate:g}: that share of requests answered 500{seeded}")
    checks: list[str] = []
    if upstreams:
        checks.append(
            "shapes: every request and answer against the spec (violations on stderr and /__mock__/violations)"
        )
        if config.proxy_strict:
            checks.append("--proxy-strict: a request that breaks the spec is answered 400, not forwarded")
        if config.behaviour_monitor and config.sole_writer:
            checks.append("behaviour: answers against earlier writes; --sole-writer: a contradiction is a violation")
        elif config.behaviour_monitor:
            checks.append(
                "behaviour: answers against earlier writes; a contradiction is an observation "
                "(--sole-writer makes it a violation when the proxy is the only writer)"
            )
        if config.record_file is not None:
            checks.append(f"recording: the upstream's answers are written to {printable(str(config.record_file))}")
    keys = tuple(KeyLine(shown_key(k), k.label, k.readonly) for k in runtime.keys) if mocked else ()
    return Banner(
        url=url,
        apis=config.apis,
        keys=keys,
        try_as=try_as,
        tries=tuple(tries),
        faults=config.faults,
        chaos=tuple(chaos),
        control_token=config.control_token is not None,
        upstreams={api: redact_url(upstream) for api, upstream in upstreams.items()},
        checks=tuple(checks),
    )
