"""The commit: the precommits that finalized a block, carried in the next block.

Each signature is a precommit over ``ledger.votes.vote_sign_bytes``; checking
that they add up to +2/3 of the validators' power is ``consensus.commit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger import codec
from ledger.codec import DecodeError, expect_bytes, expect_int, expect_list
from ledger.crypto import HASH_LEN, KEY_LEN, SIGNATURE_LEN, blake2b256
from ledger.record_limits import BLOCK_LIMITS


@dataclass(frozen=True, slots=True)
class CommitSig:
    """One validator's precommit inside a commit: ``[validator, timestamp_ms, signature]``."""

    validator: bytes
    timestamp_ms: int
    signature: bytes

    def to_wire(self) -> list[Any]:
        return [self.validator, self.timestamp_ms, self.signature]


@dataclass(frozen=True, slots=True)
class Commit:
    """The precommits that finalized ``block_hash`` at ``height`` in ``round``.

    ``[height, round, block_hash, [[validator, timestamp_ms, signature], ...]]``,
    signatures sorted by validator key. Each signature is over
    ``vote_sign_bytes(genesis, height, round, PRECOMMIT, block_hash, timestamp_ms)``.
    """

    height: int
    round: int
    block_hash: bytes
    signatures: tuple[CommitSig, ...]

    def to_wire(self) -> list[Any]:
        return [self.height, self.round, self.block_hash, [s.to_wire() for s in self.signatures]]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @property
    def hash(self) -> bytes:
        return blake2b256(self.encode())

    @classmethod
    def from_wire(cls, value: Any) -> Commit:
        h, r, bh, sigs = expect_list(value, 4, "commit")
        if not isinstance(sigs, list):
            raise DecodeError("commit signatures: expected an array")
        parsed = []
        for item in sigs:
            val, ts, sig = expect_list(item, 3, "commit signature")
            parsed.append(
                CommitSig(
                    expect_bytes(val, "commit validator", KEY_LEN),
                    expect_int(ts, "commit timestamp"),
                    expect_bytes(sig, "commit signature", SIGNATURE_LEN),
                )
            )
        keys = [s.validator for s in parsed]
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            raise DecodeError("commit signatures: must be sorted by validator, no duplicates")
        return cls(
            expect_int(h, "commit height"),
            expect_int(r, "commit round"),
            expect_bytes(bh, "commit block hash", HASH_LEN),
            tuple(parsed),
        )

    @classmethod
    def decode(cls, data: bytes) -> Commit:
        return cls.from_wire(codec.decode(data, BLOCK_LIMITS))
