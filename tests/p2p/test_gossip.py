"""Extrinsic batching within the message limits, and fan-out to the peers lacking them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from p2p.config import P2PStats
from p2p.framing import encode_frame
from p2p.gossip import Gossip, batch_extrinsics
from p2p.limits import SeenSet
from p2p.messages import (
    MAX_BODY,
    MAX_EXTRINSIC_BYTES,
    MAX_EXTRINSICS_PER_BATCH,
    Extrinsics,
    MessageType,
    encode_body,
    extrinsic_key,
)


def test_batches_respect_the_count_limit_and_keep_order() -> None:
    items = [n.to_bytes(3, "big") for n in range(MAX_EXTRINSICS_PER_BATCH * 2 + 5)]
    batches = batch_extrinsics(items)
    assert [len(b.extrinsics) for b in batches] == [
        MAX_EXTRINSICS_PER_BATCH,
        MAX_EXTRINSICS_PER_BATCH,
        5,
    ]
    assert [x for b in batches for x in b.extrinsics] == items


def test_batches_respect_the_byte_limit() -> None:
    items = [bytes([n % 256]) * MAX_EXTRINSIC_BYTES for n in range(200)]  # 12.5 MiB
    batches = batch_extrinsics(items)
    assert len(batches) == 4
    for batch in batches:
        assert len(encode_body(batch)) <= MAX_BODY[MessageType.EXTRINSICS]
    assert [x for b in batches for x in b.extrinsics] == items


def test_bad_extrinsic_sizes_are_local_misuse() -> None:
    assert batch_extrinsics([]) == []
    with pytest.raises(ValueError, match=r"an extrinsic is 1\.\.65536 bytes, got 0"):
        batch_extrinsics([b""])
    with pytest.raises(ValueError, match="got 65537"):
        batch_extrinsics([b"x" * (MAX_EXTRINSIC_BYTES + 1)])


# ---------------------------------------------------------------- fan-out of extrinsics


class _Peer:
    """What ``Gossip.fan_out`` uses of a connection: its ``seen`` set and its queue."""

    def __init__(self, *, full: bool = False) -> None:
        self.seen = SeenSet(1000)
        self.full = full
        self.frames: list[bytes] = []

    def enqueue(self, message_type: MessageType, frame: bytes) -> bool:
        if self.full:
            return False
        self.frames.append(frame)
        return True


def _frame_of(items: tuple[bytes, ...]) -> bytes:
    """The frame as built before issue 23: the canonical encoder, per peer."""
    return encode_frame(MessageType.EXTRINSICS, codec.encode(list(items)))


def test_fan_out_sends_each_peer_what_it_lacks_framing_each_batch_once() -> None:
    items = (b"\x01tx-a", b"\x01tx-b", b"\x01tx-c")
    fresh, other, has_a, full = _Peer(), _Peer(), _Peer(), _Peer(full=True)
    has_a.seen.add(extrinsic_key(items[0]))
    gossip = Gossip(100, P2PStats())
    peers: list[Any] = [fresh, other, has_a, full]
    assert gossip.fan_out(peers, Extrinsics(items)) == 3
    assert fresh.frames == other.frames == [_frame_of(items)]
    assert fresh.frames[0] is other.frames[0]  # one encoding for both
    assert has_a.frames == [_frame_of(items[1:])]
    assert full.frames == []
    for peer in (fresh, other, has_a):
        assert all(extrinsic_key(item) in peer.seen for item in items)
    # Nothing was queued to the full peer: it is not marked, so it gets them later.
    assert not any(extrinsic_key(item) in full.seen for item in items)
    full.full = False
    assert gossip.fan_out(peers, Extrinsics(items)) == 1
    assert full.frames == [_frame_of(items)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=40))
def test_an_extrinsics_body_is_the_canonical_encoding(items: list[bytes]) -> None:
    assert encode_body(Extrinsics(tuple(items))) == codec.encode(items)
