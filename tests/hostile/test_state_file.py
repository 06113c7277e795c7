"""Issue 18, problem 6 (two mocks, one `--state-file`) and problem 7's `kill -9` leftovers:
the state file belongs to one process, and what a crashed save leaves is cleaned at the next
start, and only that."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ALICE, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}


@pytest.mark.parametrize("how", ["same path", "through a symlink", "relative"])
def test_a_second_mock_on_a_locked_state_file_exits_2_at_once(
    how: str, spawn_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    first = spawn_mock("--state-file", str(state))
    created = httpx.post(first.base_url + "/v1/conversations", json={"title": "first's"}, headers=AUTH).json()["id"]
    given = {
        "same path": str(state),
        "through a symlink": str(_symlink(tmp_path / "link.json", state)),
        "relative": "state.json",
    }[how]
    started = time.monotonic()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "mockserver", "--port", "0", "--state-file", given],
            capture_output=True,
            text=True,
            timeout=15,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"a second mock on the same state file started and served: {exc.stdout!r}")
    took = time.monotonic() - started
    assert second.returncode == 2, second.stdout + second.stderr
    assert took < 5, f"refused after {took:.1f} s"  # issue 18: "exits 2 in < 5 s"
    line = second.stderr
    assert line.count("\n") == 1 and "Traceback" not in line, line
    assert "state.json" in line  # names the file
    assert "convo-mock serving" not in second.stdout  # never said it was serving
    # The first mock's state is untouched and it still saves.
    httpx.put(f"{first.base_url}/v1/conversations/{created}", json={"title": "still first's"}, headers=AUTH)
    assert first.stop() == 0
    saved = json.loads(state.read_text())
    titles = {c["title"] for c in saved["tenants"][ALICE]["runtype"]}
    assert "still first's" in titles


def _symlink(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def test_after_three_kill_9s_under_write_load_the_folder_holds_only_the_state_file(
    spawn_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    state = folder / "state.json"
    # Files that are not this mock's: another program's temp file, and a temp file of another
    # state file in the same folder (its mock may be saving right now). They must survive.
    foreign = {"notes.tmp": b"not ours", ".other.json.k3j4h5.tmp": b'{"tenants": {}}', "other.json": b"{}"}
    for name, data in foreign.items():
        (folder / name).write_bytes(data)
    seed = tmp_path / "seed.json"
    # A state of some megabytes: each save takes long enough to be caught in the middle.
    seed.write_text(json.dumps(_big_seed(2_000)))
    # A save may end between seeing its file and the kill landing: such a kill leaves nothing
    # to clean and does not count, so kill again (bounded) until three kills caught a save.
    leftovers = kills = 0
    while leftovers < 3 and kills < 12:
        args = ("--state-file", str(state)) + (("--seed", str(seed)) if kills == 0 else ())
        mock = spawn_mock(*args)
        leftovers += _kill_9_mid_save(mock, folder)
        kills += 1
    assert leftovers == 3, f"a save was in progress at only {leftovers} of {kills} kills (else this test proves less)"
    clean = spawn_mock("--state-file", str(state))
    assert httpx.get(clean.base_url + "/v1/conversations", headers=AUTH).status_code == 200
    assert clean.stop() == 0
    assert sorted(os.listdir(folder)) == sorted({"state.json", *foreign})
    for name, data in foreign.items():
        assert (folder / name).read_bytes() == data
    json.loads(state.read_text())  # whole, and the last one saved


def _big_seed(count: int) -> dict[str, Any]:
    conversations = [
        {"id": f"conv_seed_{n}", "title": f"seeded {n}", "systemPrompt": "s" * 2_000, "messages": []}
        for n in range(count)
    ]
    return {"tenants": {ALICE: {"runtype": conversations}}}


def _kill_9_mid_save(mock: MockProcess, folder: Path) -> int:
    """Write until a save is seen in progress (a file that was not in the folder while the
    mock sat idle: a lock file is), then kill -9 at once; whether it was still there after."""
    time.sleep(0.2)  # a save of the starting state is over
    known = set(os.listdir(folder))
    stop = threading.Event()

    def write() -> None:
        with httpx.Client(base_url=mock.base_url, headers=AUTH, timeout=5) as client:
            while not stop.is_set():
                try:
                    client.post("/v1/conversations", json={"title": "load", "systemPrompt": "x" * 2_000})
                except httpx.TransportError:
                    return

    writers = [threading.Thread(target=write) for _ in range(3)]
    for writer in writers:
        writer.start()
    caught = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if set(os.listdir(folder)) - known:
            mock.kill9()
            caught = True
            break
    else:
        mock.kill9()
    stop.set()
    for writer in writers:
        writer.join()
    return int(caught and bool(set(os.listdir(folder)) - known))
