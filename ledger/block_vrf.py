"""The block VRF: each proposer's RFC 9381 proof, chained from block to block.

The input of block ``height`` proposed in ``proposal_round`` is
``block_vrf_alpha`` (docs/PROTOCOL.md §3); its output feeds the next block's
input. Genesis has no proof and block 1 chains on ``GENESIS_VRF_OUTPUT``.
"""

from __future__ import annotations

from typing import Final

from ledger import vrf
from ledger.crypto import HASH_LEN
from ledger.vrf import OUTPUT_LEN as VRF_OUTPUT_LEN
from ledger.vrf import PROOF_LEN as VRF_PROOF_LEN

BLOCK_VRF_DOMAIN: Final = b"CREDICHAIN/BLOCK-VRF/1"
# Genesis has no proposer and no proof: its vrf_proof is 80 zero bytes, never
# verified, and block 1's proof chains on 64 zero bytes instead of an output.
NO_VRF_PROOF: Final = bytes(VRF_PROOF_LEN)
GENESIS_VRF_OUTPUT: Final = bytes(VRF_OUTPUT_LEN)
MAX_ROUND: Final = 2**32 - 1  # a round is a u32 in the VRF input


def block_vrf_alpha(
    genesis_hash: bytes, height: int, proposal_round: int, parent_output: bytes
) -> bytes:
    """The VRF input of block ``height`` proposed in ``proposal_round`` (docs/PROTOCOL.md §3).

    ``BLOCK_VRF_DOMAIN || genesis_hash || u64be(height) || u32be(round) ||
    parent_output`` (22 + 32 + 8 + 4 + 64 = 130 bytes); ``parent_output`` is the
    parent block's VRF output (``GENESIS_VRF_OUTPUT`` for block 1).
    """
    if len(genesis_hash) != HASH_LEN or len(parent_output) != VRF_OUTPUT_LEN:
        raise ValueError("block_vrf_alpha: a 32-byte genesis hash and a 64-byte parent output")
    if not 0 <= proposal_round <= MAX_ROUND or not 0 <= height < 2**64:
        raise ValueError("block_vrf_alpha: height is a u64, round a u32")
    return (
        BLOCK_VRF_DOMAIN
        + genesis_hash
        + height.to_bytes(8, "big")
        + proposal_round.to_bytes(4, "big")
        + parent_output
    )


def verify_block_vrf(
    genesis_hash: bytes,
    height: int,
    proposal_round: int,
    proposer: bytes,
    vrf_proof: bytes,
    parent_output: bytes,
) -> bytes | None:
    """The block's 64-byte VRF output if ``vrf_proof`` is the proposer's proof, else None."""
    if not 0 <= proposal_round <= MAX_ROUND or len(parent_output) != VRF_OUTPUT_LEN:
        return None
    alpha = block_vrf_alpha(genesis_hash, height, proposal_round, parent_output)
    return vrf.verify(proposer, vrf_proof, alpha)
