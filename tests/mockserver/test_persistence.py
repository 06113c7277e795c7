"""--state-file: survives a restart, and a kill -9 in the middle of writes never corrupts it."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from mockserver.persistence import LOCK_SUFFIX, TEMP_SUFFIX, read_state, write_atomic

AUTH = {"Authorization": "Bearer demo-alice"}


def test_state_survives_a_restart(spawn_mock: Any, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = spawn_mock("--state-file", str(state))
    cid = httpx.post(first.base_url + "/v1/conversations", json={"title": "keep me"}, headers=AUTH).json()["id"]
    httpx.delete(first.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH)
    assert first.stop() == 0
    second = spawn_mock("--state-file", str(state))
    assert httpx.get(f"{second.base_url}/v1/conversations/{cid}", headers=AUTH).json()["title"] == "keep me"
    assert httpx.get(second.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH).status_code == 404


def test_kill_9_during_writes_leaves_a_complete_state(spawn_mock: Any, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    mock = spawn_mock("--state-file", str(state))
    stop = threading.Event()
    acknowledged: list[str] = []

    def write() -> None:
        with httpx.Client(base_url=mock.base_url, headers=AUTH, timeout=5) as client:
            while not stop.is_set():
                try:
                    response = client.post("/v1/conversations", json={"systemPrompt": "x" * 2000})
                except httpx.TransportError:
                    return
                acknowledged.append(response.json()["id"])

    writers = [threading.Thread(target=write) for _ in range(4)]
    for thread in writers:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    mock.kill9()
    stop.set()
    for thread in writers:
        thread.join()
    assert len(acknowledged) >= 50

    saved = json.loads(state.read_text())  # parses: never half-written
    ids = [c["id"] for c in saved["tenants"]["demo-alice"]["runtype"]]
    assert {"conv_demo1_1", "conv_demo1_2", "conv_demo1_3"} <= set(ids)
    created = [i for i in ids if not i.startswith("conv_demo")]
    # Every saved record is one the server accepted (at most the 4 in flight went unacknowledged)
    # and the save loop ran during the writes.
    assert len(set(created) - set(acknowledged)) <= len(writers)
    assert created, "nothing was saved while writes were going on"
    restarted = spawn_mock("--state-file", str(state))  # loads, and validates every record
    listed = httpx.get(restarted.base_url + "/v1/conversations", params={"limit": 100}, headers=AUTH).json()
    assert listed["conversations"][0]["id"] == created[-1]


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "state.json"
    write_atomic(target, b'{"a": 1}')
    write_atomic(target, b'{"a": 2}')
    assert read_state(target) == {"a": 2}
    assert read_state(tmp_path / "absent.json") is None
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_corrupt_state_file_is_a_clear_start_up_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{truncated")
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--state-file", str(state)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "state" in result.stderr and "Traceback" not in result.stderr
    assert _ours(tmp_path) == []  # a start that fails leaves no lock file behind


def test_a_state_file_that_is_not_a_regular_file_stops_the_start(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "state.fifo"
    os.mkfifo(fifo)
    # Reading a FIFO would block for ever: the start must refuse it at once instead.
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--state-file", str(fifo)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "not a regular file" in result.stderr and "Traceback" not in result.stderr


def test_a_new_state_file_holds_the_starting_data_after_a_clean_stop(spawn_mock: Any, tmp_path: Path) -> None:
    state = tmp_path / "new" / "state.json"
    mock = spawn_mock("--state-file", str(state))
    assert mock.stop() == 0  # no change was made: the file still says what the mock served
    saved = read_state(state)
    assert saved is not None and "conv_demo1_1" in json.dumps(saved)


def _ours(folder: Path) -> list[str]:
    """What of ours the folder holds beside the state file: lock files and temporary files."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((LOCK_SUFFIX, TEMP_SUFFIX)))


def test_a_second_mock_on_the_same_state_file_refuses_to_start(spawn_mock: Any, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = spawn_mock("--state-file", str(state))
    # Another name of the same file is the same file.
    alias = tmp_path / "alias.json"
    alias.symlink_to(state)
    for path in (state, alias):
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "mockserver", "--port", "0", "--state-file", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        print(f"second mock on {path.name} refused after {time.monotonic() - started:.2f} s")
        assert second.returncode == 2
        [line] = second.stderr.splitlines()
        assert line.startswith("convo-mock: error: state file ") and str(state) in line
        assert f"process {first.proc.pid}" in line
        assert second.stdout == ""
    # The first one is untouched, and saves as before.
    created = httpx.post(first.base_url + "/v1/conversations", json={"title": "still mine"}, headers=AUTH)
    assert first.stop() == 0
    assert created.json()["id"] in state.read_text()
    assert _ours(tmp_path) == []


def test_kill_9_rounds_leave_nothing_of_ours_after_a_clean_start_and_stop(spawn_mock: Any, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    # Not ours to touch: another program's files, and another state file's temporary file
    # (a mock on other.json may be writing it right now).
    foreign = [".state.json.tmp", "notes.txt", f".other.json.abcd1234{TEMP_SUFFIX}", ".state.json.abcd1234.tmp"]
    for name in foreign:
        (tmp_path / name).write_text("not the mock's")
    for round_ in range(3):
        mock = spawn_mock("--state-file", str(state))
        stop = threading.Event()

        def write(base: str = mock.base_url, stop: threading.Event = stop) -> None:
            with httpx.Client(base_url=base, headers=AUTH, timeout=5) as client:
                while not stop.is_set():
                    try:
                        client.post("/v1/conversations", json={"systemPrompt": "x" * 4000})
                    except httpx.TransportError:
                        return

        writers = [threading.Thread(target=write) for _ in range(4)]
        for thread in writers:
            thread.start()
        time.sleep(0.5)
        mock.kill9()
        stop.set()
        for thread in writers:
            thread.join()
        # What a save cut short by the kill leaves, whether or not this round's kill made one.
        (tmp_path / f".state.json.killed_{round_}{TEMP_SUFFIX}").write_text("{half a state")
        assert _ours(tmp_path)  # the lock file at least: the kill left it (unlocked)
    restarted = spawn_mock("--state-file", str(state))
    assert httpx.get(restarted.base_url + "/__mock__/health").json()["persistence"]["ok"] is True
    assert restarted.stop() == 0
    assert read_state(state) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["state.json", *foreign])
