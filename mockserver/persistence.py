"""`--state-file`: state loaded at start, saved after changes, never half-written.

Saving is atomic (write a temporary file beside the target, fsync, rename, fsync the
folder): a crash or kill -9 at any moment leaves either the previous or the next complete
state. Saves are coalesced: a burst of writes costs one save, not one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from .seed import SeedError
from .store import Store


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_state(path: Path) -> Any | None:
    """The saved state, or None when there is no file yet."""
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as exc:
        raise SeedError(f"state file {path} is not valid JSON ({exc}); move it away to start afresh") from None
    except OSError as exc:
        raise SeedError(f"cannot read state file {path}: {exc.strerror}") from None


class StateSaver:
    def __init__(self, store: Store, path: Path, interval: float = 0.05) -> None:
        self.store = store
        self.path = path
        self.interval = interval
        self._saved = store.changes
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.save()

    async def save(self) -> None:
        if self.store.changes == self._saved:
            return
        changes = self.store.changes
        # Serialised on the event loop, between requests, so the snapshot is consistent.
        snapshot = orjson.dumps(self.store.dump())
        await asyncio.to_thread(write_atomic, self.path, snapshot)
        self._saved = changes

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.save()
