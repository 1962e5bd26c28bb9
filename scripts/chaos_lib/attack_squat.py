"""Held connections: TCP connections kept open the way a slow or silent client does.

Theory of operation
-------------------
``squat`` sends a first chunk (HTTP headers announcing a body,
``slow_body_headers``; or a valid first Noise message from a key nobody
allows, ``noise_first_message``; or nothing), then one byte every
``dribble_every`` seconds (or nothing), and counts in ``SquatStats`` when the
node closes them; a closed connection is reopened at once (a persistent
attacker), within ``max_opens``. Bounded by ``stop_at`` on the monotonic
clock; 127.0.0.1 only.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from ledger.crypto import Keypair
from p2p.framing import encode_record
from p2p.handshake import Handshake, StaticKey
from scripts.chaos_lib.attack_http import CONNECT_TIMEOUT_S, QUICK_CLOSE_S


@dataclass
class SquatStats:
    target: int = 0
    opened: int = 0
    connect_failed: int = 0
    closed_by_node: int = 0
    held_at_end: int = 0
    max_held: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    lifetimes: list[float] = field(default_factory=list)
    _held: int = 0

    def to_json(self) -> dict[str, Any]:
        lives = sorted(self.lifetimes)
        return {
            "target": self.target,
            "opened": self.opened,
            "connect_failed": self.connect_failed,
            "closed_by_node": self.closed_by_node,
            "held_at_end": self.held_at_end,
            "max_held": self.max_held,
            "median_s_until_closed": round(lives[len(lives) // 2], 2) if lives else None,
            "answers": dict(self.answers.most_common(5)),
        }


def _answer_label(data: bytes) -> str:
    if data.startswith(b"HTTP/"):
        return data.split(b"\r\n", 1)[0][:40].decode(errors="replace")
    return "binary reply (a Noise message)" if len(data) > 2 else "binary reply"


async def _one_squat(
    port: int,
    first: bytes,
    dribble_every: float | None,
    stop_at: float,
    stats: SquatStats,
    connecting: trio.CapacityLimiter,
    source: str | None,
) -> bool:
    """Hold one connection until the node closes it (True) or ``stop_at`` (False)."""
    stream: trio.SocketStream | None = None
    async with connecting:
        with trio.move_on_after(CONNECT_TIMEOUT_S):
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port, local_address=source)
            except OSError:
                stream = None
        if stream is None:
            stats.connect_failed += 1
            await trio.sleep(0.2)
            return True
    stats.opened += 1
    stats._held += 1
    stats.max_held = max(stats.max_held, stats._held)
    began = time.monotonic()
    closed = False
    try:
        if first:
            await stream.send_all(first)
        answered = False
        while (left := stop_at - time.monotonic()) > 0:
            wait = min(left, dribble_every) if dribble_every else left
            data: bytes | None = None
            with trio.move_on_after(wait):
                data = await stream.receive_some(4096)
            if data == b"":
                closed = True
                break
            if data:  # an answer (a 408, a Noise reply) is not a close: hold on
                if not answered:
                    answered = True
                    stats.answers[_answer_label(data)] += 1
                continue
            if dribble_every:
                await stream.send_all(b" ")
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        closed = True
    finally:
        stats._held -= 1
        await trio.aclose_forcefully(stream)
    if closed:
        stats.closed_by_node += 1
        stats.lifetimes.append(time.monotonic() - began)
    else:
        stats.held_at_end += 1
    return closed


async def squat(
    port: int,
    count: int,
    first: bytes | Callable[[int], bytes],
    dribble_every: float | None,
    stop_at: float,
    stats: SquatStats,
    max_opens: int,
    sources: list[str],
) -> None:
    """Keep ``count`` connections to ``port`` open until ``stop_at``, reopening closed ones;
    connection ``i`` comes from ``sources[i % len(sources)]`` and opens with ``first`` (or
    ``first(i)``, made anew for each connection)."""
    stats.target += count
    connecting = trio.CapacityLimiter(32)
    opens = [0]

    async def keeper(slot: int) -> None:
        every = dribble_every if slot % 2 == 0 else None  # half dribble, half stall
        while time.monotonic() < stop_at and opens[0] < max_opens:
            opens[0] += 1
            payload = first(slot) if callable(first) else first
            began = time.monotonic()
            source = sources[slot % len(sources)] if sources else None
            if not await _one_squat(port, payload, every, stop_at, stats, connecting, source):
                return
            if time.monotonic() - began < QUICK_CLOSE_S:  # refused at once: not a hot loop
                await trio.sleep(QUICK_CLOSE_S)

    async with trio.open_nursery() as nursery:
        for slot in range(count):
            nursery.start_soon(keeper, slot)


def noise_first_message(genesis_hash: bytes) -> bytes:
    """A valid first Noise XX message (``e`` and the chain's hello) from a fresh key nobody
    allows: the node answers it and waits for the third message, which never comes."""
    handshake = Handshake(
        initiator=True,
        identity=Keypair.generate(),
        static=StaticKey.generate(),
        genesis_hash=genesis_hash,
        check_peer=lambda _identity: None,
    )
    return encode_record(handshake.start())


def slow_body_headers(port: int, length: int = 100_000) -> bytes:
    return (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n{{"
    ).encode()
