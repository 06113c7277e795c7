"""Record mode: what the upstream returned becomes a seed file that serves the same data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver import MockConfig, create_app
from mockserver.background import BackgroundServer
from tests.mockserver.proxy.upstreams import SECRET, Tap, drop_updated_at

OTHER = "sk-live-fedcba9876543210"
SP_ID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


def _without_link(item: dict[str, Any]) -> dict[str, Any]:
    # `_link` is built from the host a request reached, so it differs between two servers.
    return {k: v for k, v in item.items() if k != "_link"}


def test_record_then_seed_serves_the_same_conversations(serve: Any, tmp_path: Path) -> None:
    upstream = serve(Tap(create_app(MockConfig(keys=_keys(SECRET, OTHER)))))
    record = tmp_path / "recorded.json"
    proxy = BackgroundServer(
        create_app(
            MockConfig(
                upstreams=(("runtype", upstream.base_url), ("systemprompt", upstream.base_url)),
                record_file=record,
                record_keys=((SECRET, "alice"),),
            )
        )
    ).start()
    alice_rt, alice_sp = {"Authorization": f"Bearer {SECRET}"}, {"api-key": SECRET}
    other_rt = {"Authorization": f"Bearer {OTHER}"}
    try:
        with httpx.Client(base_url=proxy.base_url) as client:
            read = [client.get(f"/v1/conversations/conv_demo1_{n}", headers=alice_rt).json() for n in (1, 2)]
            created = client.post("/v1/conversations", json={"title": "recorded"}, headers=alice_rt).json()
            updated = client.put("/v1/conversations/conv_demo1_1", json={"title": "new"}, headers=alice_rt).json()
            client.get("/v1/conversations/conv_demo1_3", headers=alice_rt)
            assert client.delete("/v1/conversations/conv_demo1_3", headers=alice_rt).status_code == 200
            sp_list = client.get("/v1/conversation", headers=alice_sp).json()
            other = client.get("/v1/conversations/conv_demo2_1", headers=other_rt).json()
        flushed = httpx.post(proxy.base_url + "/__mock__/record/flush").json()
        assert flushed["tenants"] == 2 and flushed["conversations"] == 4 + len(sp_list)
    finally:
        proxy.stop()  # writes the file again, on shutdown
    text = record.read_text()
    assert SECRET not in text and OTHER not in text
    data = json.loads(text)
    assert list(data["tenants"]) == ["alice", "tenant-1"]

    replay = serve(create_app(MockConfig(seed_file=record)))
    with httpx.Client(base_url=replay.base_url) as client:
        alice, tenant1 = {"Authorization": "Bearer alice"}, {"Authorization": "Bearer tenant-1"}
        assert client.get("/v1/conversations/conv_demo1_1", headers=alice).json() == updated
        assert client.get("/v1/conversations/conv_demo1_2", headers=alice).json() == read[1]
        assert client.get(f"/v1/conversations/{created['id']}", headers=alice).json() == created
        assert client.get("/v1/conversations/conv_demo1_3", headers=alice).status_code == 404
        assert client.get("/v1/conversations/conv_demo2_1", headers=tenant1).json() == other
        assert client.get("/v1/conversations/conv_demo2_1", headers=alice).status_code == 404
        served = client.get("/v1/conversation", headers={"api-key": "alice"}).json()
        assert sorted(map(_without_link, served), key=lambda c: c["id"]) == sorted(
            map(_without_link, sp_list), key=lambda c: c["id"]
        )
        assert any(c["id"] == SP_ID for c in served)


def test_data_the_spec_forbids_is_not_recorded(serve: Any, tmp_path: Path) -> None:
    upstream = serve(Tap(create_app(MockConfig(keys=_keys(SECRET))), rewrite=drop_updated_at))
    record = tmp_path / "recorded.json"
    proxy = serve(
        create_app(MockConfig(upstreams=(("runtype", upstream.base_url),), apis=("runtype",), record_file=record))
    )
    answer = httpx.get(proxy.base_url + "/v1/conversations/conv_demo1_1", headers={"Authorization": f"Bearer {SECRET}"})
    assert answer.status_code == 200 and "updatedAt" not in answer.json()
    assert httpx.get(proxy.base_url + "/__mock__/violations").json()["total"] == 1
    assert httpx.post(proxy.base_url + "/__mock__/record/flush").json()["conversations"] == 0
    assert json.loads(record.read_text()) == {"tenants": {}}


def test_record_flush_outside_record_mode_is_a_clear_404(serve: Any) -> None:
    mock = serve(create_app(MockConfig()))
    for method, path in (("POST", "/__mock__/record/flush"), ("GET", "/__mock__/violations")):
        answer = httpx.request(method, mock.base_url + path)
        assert answer.status_code == 404 and "--upstream" in answer.json()["message"]


def _keys(*names: str) -> Any:
    from mockserver.api.auth import parse_key

    return tuple(parse_key(n) for n in names)


def test_record_keys_from_the_environment_and_flags_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.cli import build_parser, config_from_args
    from mockserver.config import RECORD_KEYS_ENV

    monkeypatch.setenv(RECORD_KEYS_ENV, f"{SECRET}=alice  {OTHER}=bob")
    base = ["--upstream", "http://127.0.0.1:9", "--record", str(tmp_path / "r.json")]
    config = config_from_args(build_parser().parse_args(base))
    assert config.record_keys == ((SECRET, "alice"), (OTHER, "bob"))
    flagged = config_from_args(build_parser().parse_args([*base, "--record-key", f"{OTHER}=carol"]))
    assert flagged.record_keys == ((OTHER, "carol"),)
    # Without --record the variable is ignored (it may be set for another run), not an error.
    assert config_from_args(build_parser().parse_args(base[:2])).record_keys == ()
    assert RECORD_KEYS_ENV in build_parser().format_help().replace("\n", " ").replace("  ", " ")
