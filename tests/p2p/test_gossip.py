"""Extrinsic batching within the message limits."""

from __future__ import annotations

import pytest

from p2p.gossip import batch_extrinsics
from p2p.messages import (
    MAX_BODY,
    MAX_EXTRINSIC_BYTES,
    MAX_EXTRINSICS_PER_BATCH,
    MessageType,
    encode_body,
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
