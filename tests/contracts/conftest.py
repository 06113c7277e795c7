from collections.abc import Iterator

import pytest

from mockserver.background import BackgroundServer

from .broken import FAULTS, Fault, FaultyApp


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[BackgroundServer] = []

    def start(fault: Fault | None) -> str:
        server = BackgroundServer(FaultyApp(fault)).start()
        servers.append(server)
        return server.base_url

    yield start
    for server in servers:
        server.stop()


__all__ = ["FAULTS"]
