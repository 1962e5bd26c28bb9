"""The hashed and signed structures of the protocol, under one import path.

Every structure is a record: a canonical MessagePack array with its fields by
position (spec/wire.md §1). ``to_wire`` gives that array, ``from_wire``
checks and rebuilds it, ``encode``/``decode`` go through ``ledger.codec``.
docs/PROTOCOL.md describes each one byte for byte; keep the two in step.

The records live in one module each; this module only re-exports them, so
that ``from ledger.types import X`` keeps working across the tree:

- ``ledger.extrinsic``: ``Call``, ``Extrinsic``
- ``ledger.validator_set``: ``Validator``, ``ValidatorSet``
- ``ledger.votes``: ``VoteType``, ``Vote``, ``Proposal``, ``Evidence``
- ``ledger.commit``: ``CommitSig``, ``Commit``
- ``ledger.block``: ``Header``, ``Block`` and the extrinsics and evidence roots
- ``ledger.block_vrf``: the block VRF input and its check
- ``ledger.receipts``: ``Event``, ``DispatchError``, ``Receipt`` and their roots
- ``ledger.record_limits``: the decode limits of extrinsics and blocks
"""

from __future__ import annotations

from ledger.block import (
    EMPTY_HASH,
    HEADER_VERSION,
    Block,
    Header,
    evidence_root,
    extrinsics_root,
)
from ledger.block_vrf import (
    BLOCK_VRF_DOMAIN,
    GENESIS_VRF_OUTPUT,
    MAX_ROUND,
    NO_VRF_PROOF,
    block_vrf_alpha,
    verify_block_vrf,
)
from ledger.commit import Commit, CommitSig
from ledger.extrinsic import EXTRINSIC_DOMAIN, EXTRINSIC_VERSION, Call, Extrinsic
from ledger.receipts import DispatchError, Event, Receipt, events_root, receipts_root
from ledger.record_limits import BLOCK_LIMITS, EXTRINSIC_LIMITS
from ledger.validator_set import Validator, ValidatorSet
from ledger.votes import (
    PROPOSAL_DOMAIN,
    VOTE_DOMAIN,
    Evidence,
    Proposal,
    Vote,
    VoteType,
    vote_sign_bytes,
)

__all__ = [
    "BLOCK_LIMITS",
    "BLOCK_VRF_DOMAIN",
    "EMPTY_HASH",
    "EXTRINSIC_DOMAIN",
    "EXTRINSIC_LIMITS",
    "EXTRINSIC_VERSION",
    "GENESIS_VRF_OUTPUT",
    "HEADER_VERSION",
    "MAX_ROUND",
    "NO_VRF_PROOF",
    "PROPOSAL_DOMAIN",
    "VOTE_DOMAIN",
    "Block",
    "Call",
    "Commit",
    "CommitSig",
    "DispatchError",
    "Event",
    "Evidence",
    "Extrinsic",
    "Header",
    "Proposal",
    "Receipt",
    "Validator",
    "ValidatorSet",
    "Vote",
    "VoteType",
    "block_vrf_alpha",
    "events_root",
    "evidence_root",
    "extrinsics_root",
    "receipts_root",
    "verify_block_vrf",
    "vote_sign_bytes",
]
