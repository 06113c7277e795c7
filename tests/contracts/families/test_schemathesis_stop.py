"""An interrupt while Schemathesis runs stops its child process (no orphan keeps sending)
and removes the temporary files that held the keys.

The interrupt is raised from inside the wait loop, where a signal handler's exception lands
in a real run: a real signal would only reach the main thread, which under pytest-xdist is
not the one running the test."""

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from contracts.context import Context
from contracts.errors import Interrupted
from contracts.families import schemathesis as schemathesis_family
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

    begun = time.monotonic()

    def interrupting(ctx: Context) -> float | None:
        if time.monotonic() - begun > 4.0:
            raise Interrupted(signal.SIGTERM)
        return None

    monkeypatch.setattr("contracts.families.schemathesis.subprocess.Popen", recording)
    monkeypatch.setattr(schemathesis_family, "_time_left", interrupting)
    server = BackgroundServer(create_app(MockConfig())).start()
    target = Target(base_url=server.base_url, api_key="demo-alice", other_key="demo-bob", max_examples=5000)
    client = Client(target, "runtype")
    ctx = Context(target, "runtype", "schemathesis", client, "convo-contracts-stop-test")
    try:
        with pytest.raises(Interrupted):
            schemathesis_family.schemathesis_checks(ctx)
    finally:
        for child in started:  # never leave one behind, even when the test fails
            if child.poll() is None:
                child.kill()
                child.wait()
                pytest.fail("the Schemathesis child was still running after the interrupt")
        client.close()
        server.stop()
    (child,) = started
    args = [str(a) for a in child.args]  # type: ignore[union-attr]
    config = Path(args[args.index("--config-file") + 1])
    assert not config.exists() and not config.parent.exists()
