"""`convo-mock` / `python -m mockserver`: start the mock of both APIs."""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

import specs

from .app import create_app
from .auth import DEFAULT_KEYS, parse_key
from .config import MockConfig
from .seed import DOCUMENTED_UUID, SeedError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convo-mock",
        description="A stateful mock of the Runtype and systemprompt.io conversation APIs, "
        "driven by their OpenAPI specs.",
    )
    parser.add_argument("--api", choices=[*specs.API_NAMES, "both"], default="both", help="which API(s) to serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free port)")
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
        "--max-body", type=int, default=1024 * 1024, metavar="BYTES", help="largest request body (413 past it)"
    )
    parser.add_argument("--latency", type=int, default=0, metavar="MS", help="delay every API response by MS")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, metavar="P", help="answer 500 to this fraction of requests"
    )
    parser.add_argument("--random-seed", type=int, metavar="N", help="seed for --error-rate, for reproducible chaos")
    parser.add_argument(
        "--fault",
        action="append",
        metavar="RULE",
        help="a fault rule, e.g. 'status=503,times=2,operation=createConversation' or 'fault=reset,rate=0.1' "
        "(repeatable; fields as in PUT /__mock__/chaos, see README)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow this browser origin (repeatable; '*' for any). Default: http://localhost:* and http://127.0.0.1:*",
    )
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return parser


def config_from_args(args: argparse.Namespace) -> MockConfig:
    if not 0 <= args.error_rate <= 1:
        raise ValueError("--error-rate must be between 0 and 1")
    if args.latency < 0 or args.max_body < 1:
        raise ValueError("--latency must be >= 0 and --max-body >= 1")
    keys = tuple(parse_key(k) for k in (args.key or DEFAULT_KEYS))
    return MockConfig(
        apis=specs.API_NAMES if args.api == "both" else (args.api,),
        keys=keys,
        seed_file=args.seed,
        empty=args.empty,
        state_file=args.state_file,
        max_body=args.max_body,
        latency_ms=args.latency,
        error_rate=args.error_rate,
        random_seed=args.random_seed,
        cors_origins=tuple(args.cors_origin or ()),
        faults=tuple(args.fault or ()),
    )


def banner(url: str, config: MockConfig, keys: Sequence[tuple[str, bool]], sample_ids: dict[str, str | None]) -> str:
    lines = [f"convo-mock serving {' and '.join(config.apis)} at {url}", "", "API keys (each its own tenant):"]
    lines += [f"  {key}{'  (read-only: writes answer 403)' if readonly else ''}" for key, readonly in keys]
    first = next((k for k, readonly in keys if not readonly), keys[0][0] if keys else "KEY")
    lines += ["", "Try:"]
    if "runtype" in config.apis:
        lines.append(f"  curl -H 'Authorization: Bearer {first}' {url}/v1/conversations")
    if "systemprompt" in config.apis:
        uuid = sample_ids.get("systemprompt") or DOCUMENTED_UUID
        lines.append(f"  curl -H 'api-key: {first}' {url}/v1/conversation/{uuid}")
    lines += ["", f"Dashboard: {url}/__mock__/ (live requests, state, chaos)"]
    lines += [f"Control plane: {url}/__mock__/health, /__mock__/requests, /__mock__/state (see README)"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        app = create_app(config)
    except (ValueError, SeedError) as exc:
        parser.exit(2, f"convo-mock: error: {exc}\n")
    runtime = app.state.runtime
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        parser.exit(2, f"convo-mock: error: cannot listen on {args.host}:{args.port}: {exc.strerror}\n")
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{port}"
    first = next((k for k in runtime.keys if not k.readonly), None)
    sample = None
    if first is not None and first.tenant in runtime.store.tenants:
        sample = next(iter(runtime.store.tenants[first.tenant].systemprompt), None)
    shown = [(k.key if k.name is None else f"<{k.name}'s key>", k.readonly) for k in runtime.keys]
    print(banner(url, config, shown, {"systemprompt": sample}), flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=False, lifespan="on"))
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
