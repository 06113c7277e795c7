"""`--state-file`: state loaded at start, saved after changes, never half-written, and one
process's alone.

Saving is atomic (write a temporary file beside the target, fsync, rename, fsync the
folder): a crash or kill -9 at any moment leaves either the previous or the next complete
state. Saves are coalesced: a burst of writes costs one save, not one per request. A failed save
never turns saving off: it is logged, retried with back-off and reported by
`GET /__mock__/health` until a save works again.

The state file belongs to one process: `StateLock` holds an exclusive lock on
`.NAME.convo-mock.lock` beside it (the holder's pid inside) from before the state is read
until the final save; the OS releases it when the process ends, however it ends. A temporary
file is named `.NAME.XXXXXXXX.convo-mock.tmp`: one left by a crashed save is removed at the
next start, under the lock, and no other file is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .api.seed import SeedError
from .api.store import Store, format_timestamp

logger = logging.getLogger("mockserver")


TEMP_SUFFIX = ".convo-mock.tmp"
LOCK_SUFFIX = ".convo-mock.lock"
# Windows locks a byte range, and a locked byte cannot be read by others: lock one past the pid.
_LOCKED_BYTE = 4096


def _temporary_files(path: Path) -> re.Pattern[str]:
    """What `write_atomic` names its temporary files for `path` (mkstemp's 8 characters)."""
    return re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
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


def remove_leftovers(path: Path) -> list[str]:
    """Remove the temporary files a crashed save of `path` left (only those: another state
    file's, or anyone else's, stay); their names."""
    pattern = _temporary_files(path)
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


class StateFileBusy(Exception):
    """Another process holds the state file."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"state file {path} is in use by {holder} (another convo-mock?); stop it or pick another file")
        self.pid = pid


class StateLock:
    """This process's exclusive hold on a state file, from `acquire` to `release`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path  # the lock file
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state: Path) -> StateLock:
        """The lock on `state` (its folder made if need be); StateFileBusy naming the holder's
        pid when another process has it, OSError when the folder cannot be written."""
        state = Path(os.path.realpath(state))  # two names of one file are one file
        state.parent.mkdir(parents=True, exist_ok=True)
        path = state.parent / f".{state.name}{LOCK_SUFFIX}"
        for _ in range(10):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            if not _try_lock(fd):
                pid = _read_pid(fd)
                os.close(fd)
                raise StateFileBusy(state, pid)
            # The holder before may have removed the file between our open and our lock: a
            # lock on a file no longer at `path` would hold nothing. Then open it afresh.
            if _same_file(fd, path):
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, f"{os.getpid()}\n".encode())
                return cls(path, fd)
            os.close(fd)
        raise StateFileBusy(state, None)

    def release(self) -> None:
        """Give the state file up and remove the lock file (a crash leaves it, unlocked)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if sys.platform == "win32":  # an open file cannot be removed there: close first
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            return
        with contextlib.suppress(OSError):
            if _same_file(fd, self.path):  # removed while still held: nobody can lock it meanwhile
                os.unlink(self.path)
        os.close(fd)


def _try_lock(fd: int) -> bool:
    # Imported here: neither module exists on every system.
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", errors="replace").strip()
        return int(text) if text.isdigit() and text.isascii() else None
    return None


def _same_file(fd: int, path: Path) -> bool:
    try:
        held, named = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


def read_state(path: Path) -> Any | None:
    """The saved state, or None when there is no file yet. Anything else that is not a state
    (invalid JSON, `null`, unreadable) stops the start: overwriting it would lose data."""
    if path.exists() and not path.is_file():
        # A folder, a FIFO or a device: reading would fail or block forever, writing would lose it.
        raise SeedError(f"state file {path} is not a regular file")
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as exc:
        raise SeedError(f"state file {path} is not valid JSON ({exc}); move it away to start afresh") from None
    except OSError as exc:
        raise SeedError(f"cannot read state file {path}: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise SeedError(f"state file {path} does not hold a state object; move it away to start afresh")
    return data


def _cause(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__}: {exc.filename or ''}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


class StateSaver:
    """Saves the store when it changed. A failed save is logged with its cause and retried
    with back-off (the latest state each time) until one works; `status()` shows it."""

    def __init__(self, store: Store, path: Path, interval: float = 0.05, max_delay: float = 5.0) -> None:
        self.store = store
        self.path = path
        self.interval = interval
        self.max_delay = max_delay
        self.error: str | None = None
        self.last_saved_at: str | None = None
        self._failures = 0
        # No file yet: the starting data is unsaved, so the first save (at the latest the
        # final one) writes it, and "state saved to PATH" is always true of PATH.
        self._saved = store.changes if path.exists() else store.changes - 1
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def status(self) -> dict[str, Any]:
        return {"ok": self.error is None, "error": self.error, "lastSavedAt": self.last_saved_at}

    def start(self) -> None:
        self._stopping = asyncio.Event()  # made on the loop that runs it
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> bool:
        """Stop the loop and make the final save; never raises (a failure is logged and returned)."""
        # Not cancelled: a save under way finishes first, so it can never land after the final one.
        self._stopping.set()
        if self._task is not None:
            await self._task
        saved = await self.save()
        if saved:
            logger.info("final state saved to %s", self.path)
        else:
            logger.error(
                "final save to %s failed (%s): changes since %s are lost",
                self.path,
                self.error,
                self.last_saved_at or "the start",
            )
        return saved

    async def save(self) -> bool:
        """Write the latest state if it changed (or the last save failed); whether it is on disk."""
        if self.store.changes == self._saved and self.error is None:
            return True
        changes = self.store.changes
        try:
            # Serialised on the event loop, between requests, so the snapshot is consistent.
            snapshot = orjson.dumps(self.store.dump())
            # A symlinked state file stays a symlink: the file it points to is replaced.
            await asyncio.to_thread(write_atomic, Path(os.path.realpath(self.path)), snapshot)
        except Exception as exc:  # any failure: keep serving, keep retrying, say so
            self._failures += 1
            self.error = _cause(exc)
            logger.error("cannot save state to %s: %s (retrying in %.2f s)", self.path, self.error, self._delay())
            return False
        if self.error is not None:
            logger.warning("state saved to %s again after %d failed attempts", self.path, self._failures)
        self._saved = changes
        self.error = None
        self._failures = 0
        self.last_saved_at = format_timestamp(datetime.now(UTC))
        return True

    def _delay(self) -> float:
        return self.interval if not self._failures else min(self.interval * 2**self._failures, self.max_delay)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._delay())
            if not self._stopping.is_set():
                await self.save()
