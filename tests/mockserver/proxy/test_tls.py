"""The proxy in front of an https upstream: the certificate is checked against the system's
trust store (SSL_CERT_FILE honoured), and an untrusted one is a 502 naming the upstream."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ALICE, MockProcess

AUTH = {"Authorization": f"Bearer {ALICE}"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


@pytest.fixture(scope="module")
def https_upstream(certificate: tuple[Path, Path]) -> Iterator[str]:
    """The mock itself, served over TLS by uvicorn."""
    key, cert = certificate
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "mockserver.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--ssl-keyfile", str(key), "--ssl-certfile", str(cert), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/__mock__/health", verify=ssl.create_default_context(cafile=cert), timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the https upstream did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_trusted_https_upstream_is_proxied_unchanged(
    https_upstream: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[1]))
    proxy = MockProcess("--upstream", https_upstream)
    try:
        path = "/v1/conversations/conv_demo1_1"
        direct = httpx.get(
            https_upstream + path, headers=AUTH, verify=ssl.create_default_context(cafile=certificate[1])
        )
        proxied = httpx.get(proxy.base_url + path, headers=AUTH)
        assert proxied.status_code == direct.status_code == 200
        assert proxied.json() == direct.json()
        assert proxied.headers["x-convo-violations"] == "0"
        created = httpx.post(proxy.base_url + "/v1/conversations", json={"title": "over TLS"}, headers=AUTH)
        assert created.status_code == 201
        fetched = httpx.get(f"{https_upstream}/v1/conversations/{created.json()['id']}", headers=AUTH,
                            verify=ssl.create_default_context(cafile=certificate[1]))  # fmt: skip
        assert fetched.json()["title"] == "over TLS"
    finally:
        proxy.stop()


def test_an_untrusted_certificate_is_a_502_naming_the_upstream(
    https_upstream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    proxy = MockProcess("--upstream", https_upstream)
    try:
        answer = httpx.get(proxy.base_url + "/v1/conversations/conv_demo1_1", headers=AUTH)
        assert answer.status_code == 502
        body = answer.json()
        assert body["error"] == "upstream_unreachable"
        assert https_upstream in body["message"] and "TLS" in body["message"]
        assert ALICE not in answer.text
    finally:
        proxy.stop()
