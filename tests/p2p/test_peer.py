"""The per-peer send queue: bounded, never waits, urgent frames first."""

from __future__ import annotations

import trio

from p2p.peer import FAULT_POINTS, PeerError, SendQueue


def test_send_queue_refuses_when_full_by_count_or_bytes() -> None:
    queue = SendQueue(max_messages=3, max_bytes=10)
    assert queue.put(b"aaaa", urgent=False)
    assert queue.put(b"bbbb", urgent=False)
    assert not queue.put(b"ccc", urgent=False)  # 11 bytes > 10
    assert queue.put(b"cc", urgent=True)
    assert not queue.put(b"d", urgent=True)  # 3 messages already
    assert (len(queue), queue.queued_bytes) == (3, 10)


def test_send_queue_takes_urgent_first_and_respects_the_batch_size() -> None:
    queue = SendQueue(max_messages=10, max_bytes=1000)
    queue.put(b"bulk1", urgent=False)
    queue.put(b"vote1", urgent=True)
    queue.put(b"bulk2", urgent=False)
    queue.put(b"vote2", urgent=True)
    assert queue.take(max_bytes=10) == b"vote1vote2"
    assert queue.take(max_bytes=1) == b"bulk1"  # one frame always goes, even if larger
    assert queue.take(max_bytes=100) == b"bulk2"
    assert (len(queue), queue.queued_bytes) == (0, 0)


async def test_send_queue_wait_wakes_on_put() -> None:
    queue = SendQueue(max_messages=10, max_bytes=1000)
    woke: list[float] = []

    async def waiter() -> None:
        await queue.wait()
        woke.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.sleep(0.05)
        assert woke == []
        queue.put(b"x", urgent=True)
    assert len(woke) == 1


def test_peer_errors_carry_their_fault_points() -> None:
    assert PeerError("oversized_frame", "x").points == FAULT_POINTS["oversized_frame"] > 0
    assert PeerError("closed", "x").points == 0
    assert str(PeerError("stalled", "no progress")) == "stalled: no progress"
