"""Issue 17: unauthenticated connections must not hold the slots validators need.

Real TCP on the loopback: Linux routes all of 127.0.0.0/8 there, so a socket
bound to 127.0.0.2..127.0.0.99 before connecting is a client from another
address. Attackers open connections and send nothing, or a byte at a time,
or a valid first handshake message and then nothing. The listening node must
give the slots of silent connections to newcomers, cap the others per
address and keep slots for its configured peers, refuse the rest before any
cryptography, close stalled handshakes at the deadline, count every refusal
and log only a sample of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from prometheus_client import generate_latest
from structlog.testing import capture_logs

from node.daemon.metrics import NodeMetrics
from p2p.config import PeerAddress
from p2p.framing import RecordDecoder, encode_record
from p2p.service import P2PService
from tests.p2p.helpers import (
    FAST,
    KEYS,
    RawInitiator,
    address_of,
    make_service,
    read_record,
    wait_until,
)

ALICE, BOB, CAROL, DAVE = KEYS[:4]
# Small numbers, same shape as the defaults (32 slots, 4 per address, 8 reserved).
LIMITS = dataclasses.replace(
    FAST,
    max_pending_handshakes=12,
    max_pending_handshakes_per_ip=3,
    reserved_handshake_slots=3,
    handshake_timeout=30.0,  # the attackers' slots stay held for the whole test
)


class Clients:
    """Raw TCP clients from chosen loopback addresses, all closed at the test's end."""

    def __init__(self) -> None:
        self.streams: list[trio.SocketStream] = []

    async def open(self, source: str, port: int) -> trio.SocketStream:
        """A TCP connection to 127.0.0.1:``port`` from the loopback address ``source``."""
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
        try:
            await sock.bind((source, 0))
            await sock.connect(("127.0.0.1", port))
        except BaseException:
            sock.close()
            raise
        stream = trio.SocketStream(sock)
        self.streams.append(stream)
        return stream

    async def speak(self, source: str, port: int) -> trio.SocketStream:
        """A connection that sends a valid first handshake message, reads the answer, stalls."""
        stream = await self.open(source, port)
        await stream.send_all(encode_record(RawInitiator().first()))
        assert await read_record(stream, RecordDecoder()) is not None
        return stream

    def close(self) -> None:
        for stream in self.streams:
            stream.socket.close()


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:  # async: trio closes sockets in its loop
    made = Clients()
    yield made
    made.close()


async def closed_by_server(stream: trio.SocketStream) -> bool:
    """Whether the server has closed ``stream`` (EOF or reset) rather than waiting on us."""
    try:
        return await stream.receive_some(1024) == b""
    except trio.BrokenResourceError:
        return True


@asynccontextmanager
async def running(*services: P2PService) -> AsyncIterator[trio.Nursery]:
    async with trio.open_nursery() as nursery:
        for service in services:
            await nursery.start(service.run)
        yield nursery
        nursery.cancel_scope.cancel()


async def test_silent_connections_cannot_lock_out_a_validator_even_from_its_address(
    clients: Clients,
) -> None:
    alice, bob = make_service(ALICE, config=LIMITS), make_service(BOB, config=LIMITS)
    idle: list[trio.SocketStream] = []
    with trio.fail_after(8), capture_logs() as logs:
        async with running(alice, bob):
            # Far more silent connections than there are slots, from a stranger's
            # address and from the validator's own (127.0.0.1: a shared host or NAT).
            for source in ("127.0.0.2", "127.0.0.1"):
                for _ in range(40):
                    idle.append(await clients.open(source, alice.listen_port))
            await wait_until(lambda: alice.stats.handshake_failures["evicted"] == 74)
            # Each address holds its cap (3) of the newest; the older ones were closed,
            # newest in, oldest silent one out, without any cryptography.
            assert alice.stats.handshakes_pending == 6
            assert [await _closed_within(s, 0.05) for s in idle[37:40]] == [False] * 3
            assert all([await _closed_within(s, 0.2) for s in idle[:37]])
            # A validator dials in from 127.0.0.1, whose three slots are held: it takes the
            # slot of the oldest silent one and, as it speaks at once, keeps it.
            started = trio.current_time()
            bob.add_peer(address_of(alice))
            await wait_until(lambda: BOB.public in alice.peers, timeout=2)
            assert trio.current_time() - started < 2
            assert not alice.peers[BOB.public].initiator  # it came in through the listener
            assert alice.stats.handshake_failures["evicted"] == 75
            assert alice.stats.handshakes_pending == 5  # 3 + 2 squatters still wait
            assert alice.stats.handshake_failures["ip_limit"] == 0
    lines = [e for e in logs if e["event"].startswith("handshake_refus")]
    assert 1 <= len(lines) <= 2, lines  # 75 evictions: one line (and maybe a summary)


async def _closed_within(stream: trio.SocketStream, seconds: float) -> bool:
    with trio.move_on_after(seconds):
        return await closed_by_server(stream)
    return False


async def test_speaking_strangers_are_capped_per_address_and_kept_off_reserved_slots(
    clients: Clients,
) -> None:
    alice = make_service(ALICE, config=LIMITS)
    bob, carol, dave = (make_service(k, config=LIMITS) for k in (BOB, CAROL, DAVE))
    with trio.fail_after(8):
        async with running(alice, bob, carol, dave):
            # alice's configured peer bob is at 127.0.0.1 (a port where it does not
            # listen: alice cannot reach it, bob must come in).
            alice.add_peer(PeerAddress(BOB.public, "127.0.0.1", _unused_port()))
            # Strangers that send a valid first message and then stall cannot be
            # evicted: each address holds at most 3 ...
            for _ in range(3):
                await clients.speak("127.0.0.11", alice.listen_port)
            over = await clients.open("127.0.0.11", alice.listen_port)
            assert await _closed_within(over, 0.5)
            assert alice.stats.handshake_failures["ip_limit"] == 1
            # ... and with two more addresses they take every unreserved slot (12 - 3) ...
            for source in ("127.0.0.12", "127.0.0.13"):
                for _ in range(3):
                    await clients.speak(source, alice.listen_port)
            assert alice.stats.handshakes_pending == 9 and alice.gate.admission.silent() == 0
            # ... so a fourth stranger is refused as busy, before any cryptography.
            late = await clients.open("127.0.0.14", alice.listen_port)
            assert await _closed_within(late, 0.5)
            assert alice.stats.handshake_failures["busy"] == 1
            # bob dials from a known address and takes a reserved slot.
            bob.add_peer(address_of(alice))
            await wait_until(lambda: BOB.public in alice.peers, timeout=2)
            assert not alice.peers[BOB.public].initiator
            # alice's own dials need no inbound slot at all.
            alice.add_peer(address_of(carol))
            await wait_until(lambda: CAROL.public in alice.peers, timeout=2)
            assert alice.peers[CAROL.public].initiator
            # Another validator from the known address gets in too, while the
            # strangers still hold every slot they may hold.
            dave.add_peer(address_of(alice))
            await wait_until(lambda: DAVE.public in alice.peers, timeout=2)
            assert alice.stats.handshakes_pending == 9


def _unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_stalled_handshake_is_closed_at_the_deadline(clients: Clients) -> None:
    config = dataclasses.replace(LIMITS, handshake_timeout=0.5)
    alice = make_service(ALICE, config=config)
    with trio.fail_after(9):
        async with running(alice):
            # One sends nothing at all.
            silent = await clients.open("127.0.0.21", alice.listen_port)
            started = trio.current_time()
            await wait_until(lambda: alice.stats.handshakes_pending == 1)
            assert await closed_by_server(silent)
            assert 0.4 < trio.current_time() - started < 2
            # Another trickles its first message a byte at a time: the deadline is for
            # the whole handshake, not for each read.
            first = encode_record(RawInitiator().first())
            trickle = await clients.open("127.0.0.22", alice.listen_port)
            started = trio.current_time()
            try:
                for byte in first:
                    await trickle.send_all(bytes([byte]))
                    await trio.sleep(0.05)
            except trio.BrokenResourceError:
                pass  # closed on us, as it should be
            assert await closed_by_server(trickle)
            assert 0.4 < trio.current_time() - started < 2
            assert len(first) * 0.05 > 2  # it would not have finished in time
            assert alice.stats.handshake_timeouts == 2
            assert alice.stats.handshake_failures["timeout"] == 2
            await wait_until(lambda: alice.stats.handshakes_pending == 0)
            assert not alice.peers and alice.gate.admission.pending == 0


async def test_500_refusals_are_counted_and_logged_a_few_lines_and_exported(
    clients: Clients,
) -> None:
    config = dataclasses.replace(LIMITS, max_pending_handshakes_per_ip=1, refusal_log_interval=1.0)
    alice = make_service(ALICE, config=config)
    metrics = NodeMetrics()
    metrics.set_p2p_stats(alice.stats)
    with trio.fail_after(20), capture_logs() as logs:
        async with running(alice):
            await clients.speak("127.0.0.31", alice.listen_port)  # holds the one slot
            assert alice.stats.handshakes_pending == 1
            for _ in range(500):
                (await clients.open("127.0.0.31", alice.listen_port)).socket.close()
            await wait_until(lambda: alice.stats.handshake_failures["ip_limit"] == 500)
            # Every interval's leftovers are summarised once the interval is over.
            await wait_until(lambda: _reported(logs) == 500, timeout=3)
            text = generate_latest(metrics.registry).decode()
    lines = [e for e in logs if e["event"].startswith("handshake_refus")]
    assert len(lines) <= 10, lines  # not 500
    first = next(e for e in lines if e["event"] == "handshake_refused")
    assert first["reason"] == "ip_limit" and first["remote"].startswith("127.0.0.31:")
    assert 'credichain_p2p_handshakes_refused_total{reason="ip_limit"} 500.0' in text
    assert 'credichain_p2p_handshakes_refused_total{reason="timeout"} 0.0' in text
    assert "credichain_p2p_handshakes_pending 1.0" in text
    assert "credichain_p2p_handshake_timeouts_total 0.0" in text


def _reported(logs: Sequence[MutableMapping[str, Any]]) -> int:
    """Refusals the log accounts for: those logged in full plus the summarised ones."""
    full = sum(1 for e in logs if e["event"] == "handshake_refused")
    summarised = sum(int(e["count"]) for e in logs if e["event"] == "handshake_refusals_suppressed")
    return full + summarised
