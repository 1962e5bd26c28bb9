"""Checks the node runs on votes and proposals before they reach the core.

Theory of operation
-------------------
The core trusts signatures (see ``consensus/inputs.py``); the node calls
these on every vote and proposal from the network — in worker threads if it
likes, since PyNaCl releases the GIL — and drops (and counts against the
peer) whatever raises ``InvalidMessage``. The core itself re-checks what is
cheap and stateful (height, round, membership, the proposer of the round).
"""

from __future__ import annotations

from ledger.crypto import HASH_LEN
from ledger.types import Proposal, ValidatorSet, Vote, VoteType


class InvalidMessage(ValueError):
    """A vote or proposal from a peer that must be dropped; the message says why."""


def check_vote(vote: Vote, validator_set: ValidatorSet, genesis_hash: bytes) -> None:
    """Raise ``InvalidMessage`` unless ``vote`` is well formed, from a validator, and signed."""
    if not isinstance(vote, Vote):
        raise InvalidMessage(f"expected a Vote, got {type(vote).__name__}")
    if vote.vote_type not in (VoteType.PREVOTE, VoteType.PRECOMMIT):
        raise InvalidMessage(f"unknown vote type {vote.vote_type!r}")
    if vote.height < 1 or vote.round < 0 or vote.timestamp_ms < 0:
        raise InvalidMessage(
            f"vote height/round/timestamp out of range: {vote.height}/{vote.round}/"
            f"{vote.timestamp_ms}"
        )
    if vote.block_hash is not None and len(vote.block_hash) != HASH_LEN:
        raise InvalidMessage(f"vote block hash must be {HASH_LEN} bytes or nil")
    if validator_set.power_of(vote.validator) == 0:
        raise InvalidMessage(f"vote from {vote.validator.hex()}, not a validator")
    if not vote.verify(genesis_hash):
        raise InvalidMessage(f"bad vote signature from {vote.validator.hex()}")


def check_proposal(proposal: Proposal, validator_set: ValidatorSet, genesis_hash: bytes) -> None:
    """Raise ``InvalidMessage`` unless ``proposal`` is well formed and signed by a validator.

    Whether the signer is *the* proposer of the round is checked by the core,
    which knows the proposer schedule.
    """
    if not isinstance(proposal, Proposal):
        raise InvalidMessage(f"expected a Proposal, got {type(proposal).__name__}")
    if proposal.height < 1 or proposal.round < 0:
        raise InvalidMessage(f"proposal height/round out of range: {proposal.height}")
    if not -1 <= proposal.pol_round < proposal.round:
        raise InvalidMessage(
            f"proposal pol_round {proposal.pol_round} not in [-1, round {proposal.round})"
        )
    if len(proposal.block_hash) != HASH_LEN:
        raise InvalidMessage(f"proposal block hash must be {HASH_LEN} bytes")
    if validator_set.power_of(proposal.proposer) == 0:
        raise InvalidMessage(f"proposal from {proposal.proposer.hex()}, not a validator")
    if not proposal.verify(genesis_hash):
        raise InvalidMessage(f"bad proposal signature from {proposal.proposer.hex()}")
