"""`convo-mock` / `python -m mockserver`: start the mock of both APIs."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import logging
import math
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

import specs
from specs.cli import OneLineParser
from specs.integers import ascii_int
from specs.paths import unwritable
from specs.text import printable, shorten

from . import interrupt
from .api.auth import DEFAULT_KEYS, check_key_text, parse_key
from .api.seed import SeedError
from .app import create_app
from .banner import describe
from .config import CONTROL_TOKEN_ENV, LOOPBACK_HOSTS, MAX_JOURNAL_SIZE, RECORD_KEYS_ENV, MockConfig
from .control.chaos import MAX_SEED, Chaos, Settings
from .control.faults import MAX_DELAY_MS, Source, flag_value, parse_flag, parse_rule
from .guard import CONTROL_AUTH
from .protocol import server_config
from .proxy.endpoint import GC_THRESHOLDS, ProxyState
from .proxy.record import parse_record_key
from .proxy.traffic_report import write_json
from .proxy.upstream_args import parse_upstreams
from .runtime import Runtime, StateFileBusy

DEFAULTS = MockConfig()
# argparse dest → MockConfig field, for the options whose defaults MockConfig holds.
_FROM_CONFIG = {
    "host": "host",
    "max_body": "max_body",
    "latency": "latency_ms",
    "error_rate": "error_rate",
    "upstream_timeout": "upstream_timeout",
    "head_timeout": "head_timeout",
    "journal_size": "journal_size",
}


# The chaos flags: (flag, argparse dest, the PUT /__mock__/chaos setting whose rules it obeys).
CHAOS_FLAGS = (
    ("--latency", "latency", "latency_ms"),
    ("--error-rate", "error_rate", "error_rate"),
    ("--random-seed", "random_seed", "random_seed"),
)


def _port(text: str) -> int:
    port = ascii_int(text)
    if port is None or port > 65535:
        raise argparse.ArgumentTypeError(f"{shorten(text, 20)!r} is not a port number (0..65535)")
    return port


def _positive(text: str) -> int:
    number = ascii_int(text)
    if number is None or number < 1:
        raise argparse.ArgumentTypeError(f"{shorten(text, 20)!r} is not a whole number of bytes above 0")
    return number


def _journal_size(text: str) -> int:
    number = ascii_int(text)
    if number is None or number > MAX_JOURNAL_SIZE:
        raise argparse.ArgumentTypeError(
            f"{shorten(text, 20)!r} is not a number of entries within 0..{MAX_JOURNAL_SIZE}"
        )
    return number


def _header_text(headers: dict[str, str]) -> str:
    """`Name: value`, as a request carries it (for help texts)."""
    return ", ".join(f"{name}: {value}" for name, value in headers.items())


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="convo-mock",
        description="A stateful mock of the Runtype and systemprompt.io conversation APIs, "
        "driven by their OpenAPI specs.",
    )
    parser.add_argument("--api", choices=[*specs.API_NAMES, "both"], default="both", help="which API(s) to serve")
    parser.add_argument("--host", help=f"address to listen on (default {DEFAULTS.host})")
    parser.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free port)")
    parser.add_argument(
        "--key",
        action="append",
        metavar="[NAME=]KEY[:readonly]",
        help="accept this API key, its own tenant; ':readonly' makes writes answer 403; NAME labels it in the "
        f"journal and dashboard (repeatable). Default: {', '.join(DEFAULT_KEYS)}",
    )
    data = parser.add_mutually_exclusive_group()
    data.add_argument(
        "--seed", type=Path, metavar="FILE", help="start from this JSON/YAML file instead of the demo data"
    )
    data.add_argument("--empty", action="store_true", help="start with no conversations")
    parser.add_argument(
        "--state-file", type=Path, metavar="PATH", help="load state from PATH and save every change to it"
    )
    parser.add_argument(
        "--journal-size",
        type=_journal_size,
        metavar="N",
        help=f"keep the last N exchanges in the journal, 0..{MAX_JOURNAL_SIZE}; 0 turns it off "
        f"(default {DEFAULTS.journal_size})",
    )
    parser.add_argument(
        "--head-timeout",
        metavar="SECONDS",
        help=f"drop a connection whose request head is not complete within SECONDS (default {DEFAULTS.head_timeout:g})",
    )
    parser.add_argument(
        "--max-body",
        type=_positive,
        metavar="BYTES",
        help=f"largest request body (413 past it; default {DEFAULTS.max_body})",
    )
    # The chaos flags stay text here: chaos.py checks them, as it checks PUT /__mock__/chaos.
    parser.add_argument(
        "--latency",
        metavar="MS",
        help=f"delay every API response by MS, 0..{MAX_DELAY_MS} (default {DEFAULTS.latency_ms})",
    )
    parser.add_argument(
        "--error-rate",
        metavar="P",
        help=f"answer 500 to this fraction of requests, 0..1 (default {DEFAULTS.error_rate:g})",
    )
    parser.add_argument(
        "--random-seed", metavar="N", help=f"seed for --error-rate, 0..{MAX_SEED}, for reproducible chaos"
    )
    parser.add_argument(
        "--fault",
        action="append",
        metavar="RULE",
        help="a fault rule, e.g. 'status=503,times=2,operation=createConversation' or 'fault=reset,rate=0.1' "
        "(repeatable; fields as in PUT /__mock__/chaos, see docs/mock.md)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow this browser origin (repeatable; '*' for any). Default: http://localhost:* and http://127.0.0.1:*",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="also answer requests whose Host is NAME (repeatable); others get 421. "
        "Always allowed: localhost, 127.0.0.1, ::1 and the --host address",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="base URL for links and the served specs' servers (default: the address requests arrive on)",
    )
    parser.add_argument(
        "--control-token",
        metavar="TOKEN",
        default=os.environ.get(CONTROL_TOKEN_ENV),
        help=f"require '{_header_text(CONTROL_AUTH.headers('TOKEN'))}' on /__mock__/ (env {CONTROL_TOKEN_ENV}; "
        "prefer the variable: a flag shows in ps)",
    )
    proxy = parser.add_argument_group("proxy mode (forward to the real service, check traffic against the spec)")
    proxy.add_argument(
        "--upstream",
        action="append",
        metavar="[API=]URL",
        help="forward to this service instead of mocking: URL for every API served, or API=URL for one "
        "(repeatable); an API without one stays mocked",
    )
    proxy.add_argument(
        "--proxy-strict", action="store_true", help="answer 400 to a request that breaks the spec; do not forward it"
    )
    proxy.add_argument(
        "--upstream-timeout",
        type=str,
        metavar="SECONDS",
        help=f"answer 504 past it (default {DEFAULTS.upstream_timeout:g})",
    )
    proxy.add_argument("--record", type=Path, metavar="FILE", help="write what the upstream returned as a seed file")
    proxy.add_argument(
        "--record-key",
        action="append",
        metavar="KEY=NAME",
        help="record KEY's conversations as tenant NAME (default tenant-1, tenant-2, ...; repeatable). "
        f"Prefer env {RECORD_KEYS_ENV}='KEY=NAME KEY2=NAME2' (used with --record when no flag is given): "
        "a flag shows in ps",
    )
    proxy.add_argument(
        "--fail-on-violation", action="store_true", help="exit 1 at shutdown if any violation was seen, with a summary"
    )
    proxy.add_argument(
        "--sole-writer",
        action="store_true",
        help="the proxy is the only writer (as in CI): a later answer that contradicts an earlier write is a "
        "violation, not an observation",
    )
    proxy.add_argument("--json", type=Path, metavar="PATH", help="at shutdown, write the violations as a JSON report")
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="how much the mock and uvicorn log to stderr (default warning; debug adds dropped connections)",
    )
    return parser


def _fill_defaults(args: argparse.Namespace) -> None:
    """Options left out take MockConfig's defaults: the one place they are written."""
    for option, field_name in _FROM_CONFIG.items():
        if getattr(args, option) is None:
            setattr(args, option, getattr(DEFAULTS, field_name))


def _chaos_settings(args: argparse.Namespace, apis: Sequence[str]) -> Settings:
    """The chaos flags, each checked by `PUT /__mock__/chaos`'s own rules (chaos.py, faults.py):
    one flag at a time, so that an error names the flag."""
    chaos = Chaos([op for api in apis for op in specs.load(api).operations])
    for flag, dest, setting in CHAOS_FLAGS:
        given = getattr(args, dest)
        try:
            chaos.update({setting: flag_value(given) if isinstance(given, str) else given}, Source.FLAG)
        except ValueError as exc:
            raise ValueError(f"{flag} {shorten(str(given), 40)!r}: {exc}") from None
    for text in args.fault or ():
        try:
            parse_rule(parse_flag(text), Source.FLAG, chaos.operations)
        except ValueError as exc:
            raise ValueError(f"--fault {shorten(text, 80)!r}: {exc}") from None
    return chaos.settings


def _seconds(flag: str, given: str | float) -> float:
    # flag_value reads JSON's grammar: ASCII digits only, `true` is not 1.
    value = flag_value(given) if isinstance(given, str) else given
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{flag} must be a finite number of seconds above 0")
    return float(value)


def config_from_args(args: argparse.Namespace) -> MockConfig:
    _fill_defaults(args)
    keys = tuple(parse_key(k) for k in (args.key or DEFAULT_KEYS))
    public_url = args.public_url.rstrip("/") if args.public_url else None
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise ValueError("--public-url must start with http:// or https://")
    if args.control_token is not None:
        check_key_text(args.control_token, f"--control-token (or {CONTROL_TOKEN_ENV})")
    apis = specs.API_NAMES if args.api == "both" else (args.api,)
    chaos = _chaos_settings(args, apis)
    upstreams = parse_upstreams(args.upstream or [], apis)
    if not upstreams and (
        args.record or args.record_key or args.fail_on_violation or args.json or args.proxy_strict or args.sole_writer
    ):
        raise ValueError(
            "--record, --record-key, --proxy-strict, --fail-on-violation, --sole-writer and --json need --upstream URL"
        )
    if args.record_key and not args.record:
        raise ValueError("--record-key needs --record FILE")
    record_keys = args.record_key or (os.environ.get(RECORD_KEYS_ENV, "").split() if args.record else [])
    for flag, path in (("--record", args.record), ("--json", args.json)):
        problem = None if path is None else unwritable(path)
        if problem is not None:
            # Checked now: found only at shutdown, the whole session's recording would be lost.
            raise ValueError(f"{flag} {path} {problem}")
    timeout = _seconds("--upstream-timeout", args.upstream_timeout)
    head_timeout = _seconds("--head-timeout", args.head_timeout)
    return MockConfig(
        apis=apis,
        keys=keys,
        seed_file=args.seed,
        empty=args.empty,
        state_file=args.state_file,
        max_body=args.max_body,
        latency_ms=chaos.latency_ms,
        error_rate=chaos.error_rate,
        random_seed=chaos.random_seed,
        cors_origins=tuple(args.cors_origin or ()),
        host=args.host,
        allowed_hosts=tuple(args.allowed_host or ()),
        public_url=public_url,
        control_token=args.control_token,
        upstreams=upstreams,
        proxy_strict=args.proxy_strict,
        upstream_timeout=timeout,
        head_timeout=head_timeout,
        journal_size=args.journal_size,
        record_file=args.record,
        record_keys=tuple(parse_record_key(k) for k in record_keys),
        sole_writer=args.sole_writer,
        faults=tuple(args.fault or ()),
    )


class PrintableFormatter(logging.Formatter):
    """Log lines whose message (a client's path, a file name) cannot act on a terminal
    (`specs.text.printable`); a traceback keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)
        return super().formatMessage(record)


def configure_logging(level: str) -> None:
    """The mock's own log lines (saves, disconnects, bugs) go to stderr at --log-level, like uvicorn's."""
    logger = logging.getLogger("mockserver")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter("%(levelname)s:     %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        app = create_app(config)
    except (ValueError, SeedError, StateFileBusy) as exc:
        parser.exit(2, f"convo-mock: error: {printable(str(exc))}\n")
    runtime = app.state.runtime
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        runtime.close()
        where = printable(f"{args.host}:{args.port}")
        parser.exit(2, f"convo-mock: error: cannot listen on {where}: {exc.strerror}\n")
    # Listening before the banner: a connection made the moment the banner is out (a script
    # that waits for it, a person pasting its curl line) waits in the backlog until uvicorn
    # accepts it, instead of being refused.
    sock.listen(2048)
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{port}"
    proxy = app.state.proxy
    configure_logging(args.log_level)
    if proxy is not None:
        _log_violations()
        gc.set_threshold(*GC_THRESHOLDS)
    server = uvicorn.Server(server_config(app, config, log_level=args.log_level))
    # uvicorn re-raises the signal that stopped it once it is done; in proxy mode a default
    # SIGTERM would then kill the process before the summary, the report and the exit code.
    sigterm = proxy is not None
    try:
        # From the banner on, Ctrl-C is a clean stop (final save included): see interrupt.py.
        interrupt.serving(lambda: setattr(server, "should_exit", True), sigterm=sigterm)
        _announce(url, config, runtime, proxy, args.host)
        server.run(sockets=[sock])
    finally:
        interrupt.stopping(sigterm=sigterm)
    code = 0
    saver = runtime.saver
    if saver is not None and saver.error is None:
        print(f"convo-mock: state saved to {config.state_file}", file=sys.stderr, flush=True)
    elif saver is not None:
        failed = f"convo-mock: error: final save to {config.state_file} failed: {saver.error}"
        print(failed, file=sys.stderr, flush=True)
        code = 1
    if proxy is not None:
        code = max(code, _shutdown(proxy, url, args.json, args.fail_on_violation))
    return code


def _announce(url: str, config: MockConfig, runtime: Runtime, proxy: ProxyState | None, host: str) -> None:
    """The banner (banner.py); a warning when other machines can connect."""
    print(describe(url, config, runtime, proxy.upstreams if proxy is not None else None).text(), flush=True)
    if not is_loopback(host):
        protection = "protected by --control-token" if config.control_token else "UNAUTHENTICATED"
        print(
            f"convo-mock: warning: listening on {host}, reachable from other machines; the control "
            f"plane /__mock__/ is {protection}"
            + ("" if config.control_token else f" (set {CONTROL_TOKEN_ENV} or --control-token)"),
            file=sys.stderr,
            flush=True,
        )


def _log_violations() -> None:
    """One line per violation on stderr, whatever uvicorn does with its own loggers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("convo-mock: %(message)s"))
    violations = logging.getLogger("mockserver.proxy.violations")
    violations.addHandler(handler)
    violations.setLevel(logging.WARNING)
    violations.propagate = False


def _shutdown(proxy: ProxyState, url: str, json_path: Path | None, fail_on_violation: bool) -> int:
    if json_path is not None:
        try:
            write_json(proxy, url, json_path)
        except OSError as exc:
            print(f"convo-mock: error: cannot write {json_path}: {exc.strerror}", file=sys.stderr)
            return 2
    total, observed = proxy.violations.total, proxy.violations.observed_total
    also = f" and {observed} observation(s)" if observed else ""
    if total or observed:
        print(f"\n{total} violation(s) of the spec{also} seen:\n{proxy.violations.table()}", flush=True)
    else:
        print("\nno violations of the spec seen", flush=True)
    return 1 if fail_on_violation and total else 0
