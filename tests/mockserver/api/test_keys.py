"""Keys a client could never present, or that could not tell tenants apart, stop the start
(one line, exit 2, the key not repeated); seed data with such keys or unreachable ids is a 400."""

import subprocess
import sys
from typing import Any

import httpx
import pytest

BAD_FLAGS = {
    "non-ASCII key": ["--key", "naïve-ключ"],
    "key with a space": ["--key", "two words"],
    "two keys, one name": ["--key", "n=first-secret", "--key", "n=second-secret"],
    "one key, two modes": ["--key", "same-secret", "--key", "same-secret:readonly"],
    # demo-alice is shown as `alice`: another key by that name could not be told apart.
    "a name a demo key has": ["--key", "alice=first-secret", "--key", "demo-alice"],
    "non-ASCII control token": ["--control-token", "tøken-secret"],
    "upstream timeout NaN": ["--upstream", "http://127.0.0.1:1", "--upstream-timeout", "nan"],
}


@pytest.mark.parametrize("case", list(BAD_FLAGS), ids=list(BAD_FLAGS))
def test_unusable_or_ambiguous_keys_stop_the_start(case: str) -> None:
    args = BAD_FLAGS[case]
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "--port", "0", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convo-mock: error:") and "Traceback" not in done.stderr
    secrets = ("naïve-ключ", "first-secret", "second-secret", "same-secret", "tøken-secret")
    assert not any(secret in done.stderr for secret in secrets)


@pytest.mark.parametrize(
    ("tenants", "field"),
    [
        ({"": {}}, "tenant #1: its key"),
        ({"a b\r\n": {}}, "tenant #1: its key"),
        ({"good-key": {"runtype": [{"id": "a/b"}]}}, "runtype[0].id"),
        ({"good-key": {"runtype": [{"id": ""}]}}, "runtype[0].id"),
    ],
)
def test_state_with_unusable_keys_or_ids_is_refused_whole(mock: Any, tenants: dict[str, Any], field: str) -> None:
    before = httpx.get(mock.base_url + "/__mock__/state").json()
    refused = httpx.put(mock.base_url + "/__mock__/state", json={"tenants": tenants})
    assert refused.status_code == 400 and field in refused.json()["message"]
    assert httpx.get(mock.base_url + "/__mock__/state").json() == before
