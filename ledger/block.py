"""Blocks and their headers, and the Merkle roots of what a block carries.

A block is ``[header, [extrinsic bytes...], last_commit|nil, [evidence...]]``;
its hash is its header's. The header names its proposer, its proposal round
and VRF proof (``ledger.block_vrf``) and the roots of the state, extrinsics,
evidence, receipts and events after the block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

from ledger import codec
from ledger.block_vrf import MAX_ROUND, NO_VRF_PROOF
from ledger.codec import DecodeError, DecodeLimits, expect_bytes, expect_int, expect_list
from ledger.commit import Commit
from ledger.crypto import HASH_LEN, KEY_LEN, blake2b256
from ledger.merkle import merkle_root
from ledger.record_limits import BLOCK_LIMITS
from ledger.votes import Evidence
from ledger.vrf import PROOF_LEN as VRF_PROOF_LEN

# 2: proposal_round and vrf_proof appended (issue 18, C6).
HEADER_VERSION: Final = 2

# Stands for a hash that is not there: the last commit of block 1, the parent of genesis.
EMPTY_HASH: Final = bytes(HASH_LEN)


@dataclass(frozen=True)  # no slots: ``hash`` is computed once per header (cached_property)
class Header:
    """Block header. ``state_root`` is the state *after* executing this block.

    ``proposal_round`` is the round the block was built and first proposed in
    (a block committed in round r was proposed in some round <= r and may
    have been re-proposed as a valid value), so the header alone names its
    proposer and its VRF input. ``vrf_proof`` is the proposer's RFC 9381 proof
    over ``block_vrf_alpha`` (chain, height, that round, the parent's output).
    """

    height: int
    timestamp_ms: int
    parent_hash: bytes
    last_commit_hash: bytes
    extrinsics_root: bytes
    evidence_root: bytes
    state_root: bytes
    receipts_root: bytes
    events_root: bytes
    validators_hash: bytes
    next_validators_hash: bytes
    proposer: bytes
    proposal_round: int = 0
    vrf_proof: bytes = NO_VRF_PROOF

    def to_wire(self) -> list[Any]:
        return [
            HEADER_VERSION,
            self.height,
            self.timestamp_ms,
            self.parent_hash,
            self.last_commit_hash,
            self.extrinsics_root,
            self.evidence_root,
            self.state_root,
            self.receipts_root,
            self.events_root,
            self.validators_hash,
            self.next_validators_hash,
            self.proposer,
            self.proposal_round,
            self.vrf_proof,
        ]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @cached_property
    def hash(self) -> bytes:
        # A frozen header's hash never changes; consensus, the store and gossip ask
        # for it many times per block.
        return blake2b256(self.encode())

    @classmethod
    def from_wire(cls, value: Any) -> Header:
        fields = expect_list(value, 15, "header")
        if fields[0] != HEADER_VERSION:
            raise DecodeError(f"header: unknown version {fields[0]!r}")
        names = [
            "parent_hash",
            "last_commit_hash",
            "extrinsics_root",
            "evidence_root",
            "state_root",
            "receipts_root",
            "events_root",
            "validators_hash",
            "next_validators_hash",
        ]
        hashes = {
            name: expect_bytes(value, f"header {name}", HASH_LEN)
            for name, value in zip(names, fields[3:12], strict=True)
        }
        return cls(
            height=expect_int(fields[1], "header height"),
            timestamp_ms=expect_int(fields[2], "header timestamp"),
            proposer=expect_bytes(fields[12], "header proposer", KEY_LEN),
            proposal_round=expect_int(fields[13], "header proposal_round", 0, MAX_ROUND),
            vrf_proof=expect_bytes(fields[14], "header vrf_proof", VRF_PROOF_LEN),
            **hashes,
        )


@dataclass(frozen=True, slots=True)
class Block:
    """``[header, [extrinsic bytes...], last_commit|nil, [evidence...]]``.

    Extrinsics travel as their encoded bytes so that their hashes never
    depend on a re-encoding. ``last_commit`` finalized the parent (nil at
    height 1); its precommit timestamps fix this block's BFT time.
    """

    header: Header
    extrinsics: tuple[bytes, ...]
    last_commit: Commit | None
    evidence: tuple[Evidence, ...] = ()

    @property
    def hash(self) -> bytes:
        return self.header.hash

    def to_wire(self) -> list[Any]:
        return [
            self.header.to_wire(),
            list(self.extrinsics),
            None if self.last_commit is None else self.last_commit.to_wire(),
            [e.to_wire() for e in self.evidence],
        ]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @classmethod
    def from_wire(cls, value: Any) -> Block:
        header, exts, last_commit, evidence = expect_list(value, 4, "block")
        if not isinstance(exts, list) or not isinstance(evidence, list):
            raise DecodeError("block: extrinsics and evidence must be arrays")
        return cls(
            Header.from_wire(header),
            tuple(expect_bytes(x, "block extrinsic") for x in exts),
            None if last_commit is None else Commit.from_wire(last_commit),
            tuple(Evidence.from_wire(e) for e in evidence),
        )

    @classmethod
    def decode(cls, data: bytes, limits: DecodeLimits = BLOCK_LIMITS) -> Block:
        return cls.from_wire(codec.decode(data, limits))


def extrinsics_root(extrinsics: Sequence[bytes]) -> bytes:
    return merkle_root(list(extrinsics))


def evidence_root(evidence: Sequence[Evidence]) -> bytes:
    return merkle_root([codec.encode(e.to_wire()) for e in evidence])
