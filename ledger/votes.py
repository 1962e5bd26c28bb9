"""The signed consensus messages: votes, proposals and evidence of double votes.

A validator signs ``VOTE_DOMAIN || genesis_hash || [height, round, type,
block_hash|nil, timestamp_ms]`` for a vote (``vote_sign_bytes``) and
``PROPOSAL_DOMAIN || genesis_hash || [height, round, pol_round, block_hash]``
for a proposal; ``Evidence`` is two such votes that conflict. The commit
built from precommits is ``ledger.commit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from ledger import codec
from ledger.codec import expect_bytes, expect_int, expect_list
from ledger.crypto import HASH_LEN, KEY_LEN, SIGNATURE_LEN, Keypair, blake2b256, verify

VOTE_DOMAIN: Final = b"CREDICHAIN/VOTE/1"
PROPOSAL_DOMAIN: Final = b"CREDICHAIN/PROPOSAL/1"


class VoteType(IntEnum):
    PREVOTE = 1
    PRECOMMIT = 2


def vote_sign_bytes(
    genesis_hash: bytes,
    height: int,
    round_: int,
    vote_type: VoteType,
    block_hash: bytes | None,
    timestamp_ms: int,
) -> bytes:
    """The exact bytes a validator signs for a vote (docs/PROTOCOL.md)."""
    body = codec.encode([height, round_, int(vote_type), block_hash, timestamp_ms])
    return VOTE_DOMAIN + genesis_hash + body


@dataclass(frozen=True, slots=True)
class Vote:
    """``[type, height, round, block_hash|nil, timestamp_ms, validator, signature]``.

    ``block_hash`` None is a vote for nil.
    """

    vote_type: VoteType
    height: int
    round: int
    block_hash: bytes | None
    timestamp_ms: int
    validator: bytes
    signature: bytes

    def sign_bytes(self, genesis_hash: bytes) -> bytes:
        return vote_sign_bytes(
            genesis_hash,
            self.height,
            self.round,
            self.vote_type,
            self.block_hash,
            self.timestamp_ms,
        )

    def verify(self, genesis_hash: bytes) -> bool:
        return verify(self.validator, self.sign_bytes(genesis_hash), self.signature)

    @classmethod
    def create(
        cls,
        key: Keypair,
        genesis_hash: bytes,
        vote_type: VoteType,
        height: int,
        round_: int,
        block_hash: bytes | None,
        timestamp_ms: int,
    ) -> Vote:
        sig = key.sign(
            vote_sign_bytes(genesis_hash, height, round_, vote_type, block_hash, timestamp_ms)
        )
        return cls(vote_type, height, round_, block_hash, timestamp_ms, key.public, sig)

    def to_wire(self) -> list[Any]:
        return [
            int(self.vote_type),
            self.height,
            self.round,
            self.block_hash,
            self.timestamp_ms,
            self.validator,
            self.signature,
        ]

    @classmethod
    def from_wire(cls, value: Any) -> Vote:
        t, h, r, bh, ts, val, sig = expect_list(value, 7, "vote")
        vote_type = VoteType(expect_int(t, "vote type", 1, 2))
        block_hash = None if bh is None else expect_bytes(bh, "vote block hash", HASH_LEN)
        return cls(
            vote_type,
            expect_int(h, "vote height"),
            expect_int(r, "vote round"),
            block_hash,
            expect_int(ts, "vote timestamp"),
            expect_bytes(val, "vote validator", KEY_LEN),
            expect_bytes(sig, "vote signature", SIGNATURE_LEN),
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    """``[height, round, pol_round, block_hash, proposer, signature]``; pol_round -1 = none."""

    height: int
    round: int
    pol_round: int
    block_hash: bytes
    proposer: bytes
    signature: bytes

    @staticmethod
    def sign_bytes_of(
        genesis_hash: bytes, height: int, round_: int, pol_round: int, block_hash: bytes
    ) -> bytes:
        return (
            PROPOSAL_DOMAIN + genesis_hash + codec.encode([height, round_, pol_round, block_hash])
        )

    def sign_bytes(self, genesis_hash: bytes) -> bytes:
        return self.sign_bytes_of(
            genesis_hash, self.height, self.round, self.pol_round, self.block_hash
        )

    def verify(self, genesis_hash: bytes) -> bool:
        return verify(self.proposer, self.sign_bytes(genesis_hash), self.signature)

    def to_wire(self) -> list[Any]:
        return [
            self.height,
            self.round,
            self.pol_round,
            self.block_hash,
            self.proposer,
            self.signature,
        ]

    @classmethod
    def from_wire(cls, value: Any) -> Proposal:
        h, r, pol, bh, prop, sig = expect_list(value, 6, "proposal")
        return cls(
            expect_int(h, "proposal height"),
            expect_int(r, "proposal round"),
            expect_int(pol, "proposal pol_round", -1),
            expect_bytes(bh, "proposal block hash", HASH_LEN),
            expect_bytes(prop, "proposal proposer", KEY_LEN),
            expect_bytes(sig, "proposal signature", SIGNATURE_LEN),
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """Two conflicting signed votes of one validator for one (height, round, type)."""

    vote_a: Vote
    vote_b: Vote

    def to_wire(self) -> list[Any]:
        return [self.vote_a.to_wire(), self.vote_b.to_wire()]

    @classmethod
    def from_wire(cls, value: Any) -> Evidence:
        a, b = expect_list(value, 2, "evidence")
        return cls(Vote.from_wire(a), Vote.from_wire(b))

    @property
    def hash(self) -> bytes:
        return blake2b256(codec.encode(self.to_wire()))
