from collections.abc import Iterator

import pytest

from corpus.broken import FAULTS, Fault, FaultyApp
from mockserver.background import BackgroundServer


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[BackgroundServer] = []
    apps: list[FaultyApp] = []

    def start(fault: Fault | None) -> str:
        app = FaultyApp(fault)
        server = BackgroundServer(app).start()
        servers.append(server)
        apps.append(app)
        return server.base_url

    yield start
    for server in servers:
        server.stop()
    errors = [e for app in apps for e in app.errors]
    assert not errors, "the broken server's own fault code failed: " + "; ".join(errors)


__all__ = ["FAULTS"]
