"""An interrupt while Schemathesis runs stops its child process (no orphan keeps sending)
and removes the temporary files that held the keys."""

import _thread
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from contracts.context import Context
from contracts.families import upstream
from contracts.target import Client, Target
from mockserver import MockConfig, create_app
from mockserver.background import BackgroundServer


def test_an_interrupt_stops_the_child_and_removes_its_key_files(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def recording(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        child = real(*args, **kwargs)
        started.append(child)
        return child

    monkeypatch.setattr(upstream.subprocess, "Popen", recording)
    server = BackgroundServer(create_app(MockConfig())).start()
    target = Target(base_url=server.base_url, api_key="demo-alice", other_key="demo-bob", max_examples=5000)
    client = Client(target, "runtype")
    ctx = Context(target, "runtype", "schemathesis", client, "convo-contracts-stop-test")
    timer = threading.Timer(5.0, _thread.interrupt_main)  # as SIGINT would, in the main thread
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            upstream.schemathesis_checks(ctx)
    finally:
        timer.cancel()
        client.close()
        server.stop()
    (child,) = started
    assert child.poll() is not None
    args = [str(a) for a in child.args]  # type: ignore[union-attr]
    config = Path(args[args.index("--config-file") + 1])
    assert not config.exists() and not config.parent.exists()
