"""The WAL record codec: round trips, torn and corrupt tails, deterministic replay."""

from __future__ import annotations

import struct

import pytest

from consensus import (
    BlockValidated,
    Core,
    CoreConfig,
    ProposalReceived,
    ProposalSigned,
    StartHeight,
    TimeoutFired,
    TimeoutStep,
    ValueReady,
    VoteReceived,
    VoteSigned,
)
from consensus.inputs import Input
from consensus.wal import MAGIC, WalError, decode_log, encode_record, input_from_wire
from ledger.codec import DecodeError
from ledger.types import VoteType

from .support import BLOCK_A, KEYS, Net, proposal, validator_set, vote

ALL_INPUTS: list[Input] = [
    StartHeight(3, validator_set(4, [1, 2, 3, 4])),
    ProposalReceived(proposal(1, 3, 2, BLOCK_A, 1), b"the block"),
    VoteReceived(vote(2, VoteType.PREVOTE, 3, 2, None)),
    ValueReady(3, 2, BLOCK_A, 1_700_000_000_123, b"payload"),
    BlockValidated(3, BLOCK_A, True, 1_700_000_000_123),
    BlockValidated(3, BLOCK_A, False),
    VoteSigned(vote(0, VoteType.PRECOMMIT, 3, 2, BLOCK_A, 99)),
    ProposalSigned(proposal(0, 3, 4, BLOCK_A)),
    TimeoutFired(3, 2, TimeoutStep.PRECOMMIT),
]


def log_of(inputs: list[Input]) -> bytes:
    return MAGIC + b"".join(encode_record(i) for i in inputs)


def test_every_input_round_trips() -> None:
    contents = decode_log(log_of(ALL_INPUTS))
    assert contents.problem is None
    assert list(contents.inputs) == ALL_INPUTS
    assert contents.good_length == len(log_of(ALL_INPUTS))


def test_an_empty_or_fresh_log_is_clean() -> None:
    assert decode_log(b"").problem is None
    assert decode_log(MAGIC).inputs == ()
    assert decode_log(MAGIC[:5]).problem == "torn header"


def test_every_torn_tail_is_detected_and_cut_at_the_last_good_record() -> None:
    data = log_of(ALL_INPUTS[:3])
    boundaries = [len(log_of(ALL_INPUTS[:k])) for k in range(4)]
    for cut in range(len(MAGIC), len(data)):
        contents = decode_log(data[:cut])
        good = max(b for b in boundaries if b <= cut)
        assert contents.good_length == good
        assert list(contents.inputs) == ALL_INPUTS[: boundaries.index(good)]
        assert (contents.problem is None) == (cut == good)
        if cut != good:
            assert "torn" in (contents.problem or "")


def test_a_flipped_bit_fails_the_crc_and_drops_the_rest() -> None:
    data = bytearray(log_of(ALL_INPUTS))
    second = len(log_of(ALL_INPUTS[:1]))
    data[second + 8 + 3] ^= 0x01  # inside the second record's payload
    contents = decode_log(bytes(data))
    assert list(contents.inputs) == ALL_INPUTS[:1]
    assert contents.good_length == second
    assert contents.problem == f"CRC mismatch in record at offset {second}"


def test_absurd_lengths_and_undecodable_payloads_are_reported() -> None:
    huge = MAGIC + struct.pack(">II", 1 << 31, 0)
    assert "exceeds" in (decode_log(huge).problem or "")
    import zlib

    payload = b"\x91\x63"  # [99]: an unknown tag
    bad = MAGIC + struct.pack(">II", len(payload), zlib.crc32(payload)) + payload
    assert "unknown input tag 99" in (decode_log(bad).problem or "")
    with pytest.raises(DecodeError, match="StartHeight"):
        input_from_wire([1, 3])


def test_a_foreign_file_is_refused_not_repaired() -> None:
    with pytest.raises(WalError, match="bad magic"):
        decode_log(b"definitely not a wal file")


def test_replaying_the_wal_into_a_fresh_core_reproduces_every_action() -> None:
    net = Net(4)
    net.start(1)
    for i in range(4):
        recorded = net.log[i]
        contents = decode_log(log_of([inp for inp, _ in recorded]))
        fresh = Core(CoreConfig(KEYS[i].public))
        replayed = [fresh.step(inp) for inp in contents.inputs]
        assert replayed == [actions for _, actions in recorded]
        assert fresh.state == net.cores[i].state
