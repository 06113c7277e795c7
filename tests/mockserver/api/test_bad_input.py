"""Every kind of bad input gets a clear 4xx JSON error, never a 500, a trace or a hang; state survives."""

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from mockserver.config import MockConfig
from tests.conftest import ALICE, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "names"),
    [
        (b"{not json", "application/json", 400, "JSON"),
        (b"[1, 2]", "application/json", 400, "object"),
        (b'"text"', "application/json", 400, "object"),
        (b"null", "application/json", 400, "object"),
        (b'{"title": "x"}', "text/plain", 415, "Content-Type"),
        (b'{"title": "x"}', "application/x-www-form-urlencoded", 415, "Content-Type"),
        (b'{"title": "\xff\xfe"}', "application/json", 400, "UTF-8"),
        (b'{"title": "\\ud800"}', "application/json", 400, "surrogate"),
        (b'{"metadata": ' + b'{"a": ' * 200 + b"1" + b"}" * 200 + b"}", "application/json", 400, "nested"),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400, "JSON"),
        (b'{"title": 1e999}', "application/json", 400, "JSON"),
    ],
)
def test_bad_bodies_get_a_clear_4xx(
    mock: MockProcess, content: bytes, content_type: str, status: int, names: str
) -> None:
    for method, path in (("POST", "/v1/conversations"), ("PUT", "/v1/conversations/conv_demo1_1")):
        response = httpx.request(
            method, mock.base_url + path, content=content, headers={**AUTH, "content-type": content_type}
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        assert names.lower() in response.json()["message"].lower()
        assert "Traceback" not in response.text
    assert (
        httpx.get(mock.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH).json()["title"] == "Help with Python"
    )


def test_oversized_body_is_413_and_state_is_untouched(spawn_mock: Any) -> None:
    small = spawn_mock("--max-body", "1000")
    big = b'{"title": "' + b"x" * 2000 + b'"}'
    response = httpx.post(
        small.base_url + "/v1/conversations", content=big, headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 413 and "1000" in response.json()["message"]

    def chunks() -> Any:
        yield big[:900]
        yield big[900:]

    # Without Content-Length (chunked), the cap still holds.
    streamed = httpx.post(
        small.base_url + "/v1/conversations", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    listed = httpx.get(small.base_url + "/v1/conversations", headers=AUTH).json()["conversations"]
    assert len(listed) == 3


def test_default_body_limit_is_one_mebibyte(mock: MockProcess) -> None:
    payload = b'{"systemPrompt": "' + b"x" * (1024 * 1024) + b'"}'
    response = httpx.post(
        mock.base_url + "/v1/conversations", content=payload, headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 413


def test_a_10000_character_id_is_a_clean_404_or_400(mock: MockProcess) -> None:
    long_id = "a" * 10_000
    rt = httpx.get(f"{mock.base_url}/v1/conversations/{long_id}", headers=AUTH)
    assert rt.status_code == 404 and len(rt.text) < 500
    sp = httpx.get(f"{mock.base_url}/v1/conversation/{long_id}", headers={"api-key": ALICE})
    assert sp.status_code == 400 and len(sp.text) < 500


def test_odd_path_characters(mock: MockProcess) -> None:
    for cid in ("%00", "..%2F..%2Fetc", "%F0%9F%98%80", "a%20b"):
        response = httpx.get(f"{mock.base_url}/v1/conversations/{cid}", headers=AUTH)
        assert response.status_code == 404, cid


def test_garbage_on_the_socket_does_not_hurt_the_server(mock: MockProcess) -> None:
    host, port = mock.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"\x16\x03\x01garbage that is not http\r\n\r\n")
        conn.recv(1024)
    assert httpx.get(mock.base_url + "/__mock__/health").status_code == 200


def test_concurrent_updates_are_never_lost_and_ids_never_repeat(mock: MockProcess) -> None:
    def create(i: int) -> str:
        with httpx.Client(base_url=mock.base_url, headers=AUTH) as client:
            response = client.post("/v1/conversations", json={"title": f"c{i}"})
            assert response.status_code == 201
            return str(response.json()["id"])

    def update(i: int) -> None:
        with httpx.Client(base_url=mock.base_url, headers={"api-key": ALICE}) as client:
            response = client.put(
                "/v1/conversation/497f6eca-6276-4993-bfeb-53cbbbba6f08", json={"metadata": {f"k{i}": i}}
            )
            assert response.status_code == 200

    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(create, range(200)))
        list(pool.map(update, range(100)))
    assert len(set(ids)) == 200
    metadata = httpx.get(
        f"{mock.base_url}/v1/conversation/497f6eca-6276-4993-bfeb-53cbbbba6f08", headers={"api-key": ALICE}
    ).json()["metadata"]
    assert all(metadata[f"k{i}"] == i for i in range(100))
    listed = httpx.get(mock.base_url + "/v1/conversations", params={"limit": 100}, headers=AUTH).json()
    assert listed["pagination"]["hasMore"] is True


def test_integers_past_64_bits_in_a_body_are_read_as_floats_and_served_back(mock: MockProcess) -> None:
    # The spec allows any JSON number in metadata: a 400 would refuse a valid request. What the
    # mock stores must be writable again, so the number is kept as the float orjson reads.
    url = f"{mock.base_url}/v1/conversations"
    big = '{"metadata": {"a": [1, 123456789012345678901234567890]}}'
    created = httpx.post(url, content=big, headers={**AUTH, "Content-Type": "application/json"})
    assert created.status_code == 201
    assert created.json()["metadata"] == {"a": [1, 1.2345678901234568e29]}
    assert httpx.get(f"{url}/{created.json()['id']}", headers=AUTH).status_code == 200


def test_large_bodies_are_checked_as_small_ones_even_when_sent_together(mock: MockProcess) -> None:
    # Past MockConfig.parse_in_thread_bytes, bodies go to the one large-body worker thread.
    deep: Any = 1
    for _ in range(MockConfig.max_depth):
        deep = [deep]
    wide = {"k": [[i] for i in range(MockConfig.parse_in_thread_bytes // 4)]}
    bodies = {
        "valid": ({"title": "big", "metadata": wide}, 201),
        "wrong type": ({"title": 5, "metadata": wide}, 400),
        "too deep": ({"title": "x", "metadata": {**wide, "d": deep}}, 400),
    }

    def post(name: str) -> tuple[str, httpx.Response]:
        payload, _ = bodies[name]
        return name, httpx.post(mock.base_url + "/v1/conversations", json=payload, headers=AUTH, timeout=30)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, [*bodies, *bodies]))
    for name, response in answers:
        assert response.status_code == bodies[name][1], (name, response.text)
        if name == "wrong type":
            assert "title" in response.json()["message"]
        elif name == "too deep":
            assert "nested" in response.json()["message"]
        else:
            served = httpx.get(f"{mock.base_url}/v1/conversations/{response.json()['id']}", headers=AUTH).json()
            assert served["metadata"] == wide
