"""Issue 18, problem 1: the proxy's memory does not follow the answer's size, and it stops
reading an answer when its client has left.

A real `convo-mock --upstream` process in front of the corpus' huge (1 GiB, generated as it
is sent), endless and dripping answers; its memory read from the kernel (/proc: VmRSS now,
VmHWM the peak), the upstream's side of each answer from the hostile server's own account."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from corpus.hostile import BY_NAME, HUGE_BYTES, Hostile, WireServer
from specs.auth import scheme_of

from .conftest import Proxy
from .inert import API_KEY

# Issue 18's bound: relaying a 1 GiB answer grows the proxy by less than this.
MAX_GROWTH_KIB = 64 * 1024
AUTH = scheme_of("runtype").headers(API_KEY)
BENT = "/v1/conversations/conv_demo1_1"  # the corpus bends the answers to reading one conversation


def _warm(proxy: Proxy) -> int:
    """Traffic that loads every code path of a relay (a checked answer, a streamed one cut
    short); the memory after it, the baseline of what follows."""
    httpx.get(proxy.base_url + "/v1/conversations", headers=AUTH, timeout=10)
    return proxy.memory_kib()


def test_a_1_gib_answer_is_relayed_whole_with_flat_memory(
    hostile_server: Callable[[Hostile], WireServer], proxy_in_front: Callable[..., Proxy]
) -> None:
    upstream = hostile_server(BY_NAME["huge_body"])
    proxy = proxy_in_front(upstream.base_url)
    before = _warm(proxy)
    received, grown = 0, 0
    with (
        httpx.Client(timeout=30) as client,
        client.stream("GET", proxy.base_url + BENT, headers=AUTH) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers.get("content-length") in (None, str(HUGE_BYTES))
        for chunk in answer.iter_raw(1024 * 1024):
            received += len(chunk)
            if received % (64 * 1024 * 1024) < len(chunk):
                # Checked as it goes: a proxy that holds the answer is stopped long before 1 GiB.
                grown = max(grown, proxy.memory_kib() - before)
                if grown > MAX_GROWTH_KIB:
                    break
    grown = max(grown, proxy.memory_kib("VmHWM") - before)
    assert grown < MAX_GROWTH_KIB, f"the proxy grew by {grown} KiB relaying {received} bytes"
    assert received == HUGE_BYTES  # relayed whole, byte for byte in number
    assert proxy.stop() == 0


@pytest.mark.parametrize("name", ["huge_body", "endless_body", "slow_drip"])
def test_the_proxy_stops_reading_an_answer_once_its_client_has_left(
    name: str, hostile_server: Callable[[Hostile], WireServer], proxy_in_front: Callable[..., Proxy]
) -> None:
    upstream = hostile_server(BY_NAME[name])
    proxy = proxy_in_front(upstream.base_url)
    before = _warm(proxy)
    received = 0
    # The client reads 16 MiB (or waits 2 s for a dripping answer), then hangs up.
    with httpx.Client(timeout=2) as client:
        try:
            with client.stream("GET", proxy.base_url + BENT, headers=AUTH) as answer:
                for chunk in answer.iter_raw(1024 * 1024):
                    received += len(chunk)
                    if received >= 16 * 1024 * 1024:
                        break
        except httpx.TimeoutException:
            pass
    (delivery,) = upstream.deliveries
    # Bounded waits, not timings: the upstream sees its connection closed by the proxy, and
    # never sends the rest (a huge answer read on to its end would finish in seconds).
    assert delivery.ended.wait(20), f"the proxy still reads {name} 20 s after its client left"
    assert delivery.peer_closed, f"the proxy read all {delivery.sent} bytes after its client left"
    grown = proxy.memory_kib("VmHWM") - before
    assert grown < MAX_GROWTH_KIB, f"the proxy grew by {grown} KiB"
    assert proxy.stop() == 0  # and it stops cleanly, nothing left hanging
