"""Actions: everything the core does leaves as one of these.

Theory of operation
-------------------
``Core.step`` returns a list of actions, in the order the node must carry
them out. Every action is idempotent from the core's point of view: feeding
an answer twice (a vote signed twice, a block validated twice) is ignored,
which is what makes "replay the WAL, then carry out every action it
produced" a correct restart procedure (see ``consensus/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.types import Commit, Evidence, Proposal, Vote, VoteType

from .types import TimeoutStep, ValueId


@dataclass(frozen=True, slots=True)
class RequestValue:
    """We propose at (height, round): build a block and answer ``ValueReady``."""

    height: int
    round: int


@dataclass(frozen=True, slots=True)
class RequestValidation:
    """Fetch (if needed) and execute block ``block_hash``; answer ``BlockValidated``.

    ``payload`` is the proposal's opaque payload when one arrived, else b"".
    """

    height: int
    round: int
    block_hash: ValueId
    payload: bytes


@dataclass(frozen=True, slots=True)
class SignProposal:
    """Sign this proposal through the signer guard; answer ``ProposalSigned``."""

    height: int
    round: int
    pol_round: int
    block_hash: ValueId


@dataclass(frozen=True, slots=True)
class SignVote:
    """Sign this vote through the signer guard; answer ``VoteSigned``.

    The vote's timestamp is ``max(node clock, min_timestamp_ms)``:
    ``min_timestamp_ms`` is the voted block's time + 1 ms (0 for nil), so a
    commit's timestamps, hence the next block's BFT time, never go backwards.
    """

    vote_type: VoteType
    height: int
    round: int
    block_hash: ValueId | None
    min_timestamp_ms: int


@dataclass(frozen=True, slots=True)
class BroadcastProposal:
    """Gossip our signed proposal, its payload, and the prevotes of its pol_round.

    ``pol_votes`` (+2/3 prevotes for the block at ``pol_round``; empty when
    pol_round is −1) let peers that missed that round accept the proposal
    (paper line 28); receivers feed them as ``VoteReceived`` before the
    proposal.
    """

    proposal: Proposal
    payload: bytes
    pol_votes: tuple[Vote, ...]


@dataclass(frozen=True, slots=True)
class BroadcastVote:
    """Gossip our signed vote."""

    vote: Vote


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    """After ``duration_ms``, feed ``TimeoutFired(height, round, step)``."""

    height: int
    round: int
    step: TimeoutStep
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Decide:
    """``block_hash`` is final at ``height``: commit it and keep ``commit`` as its proof.

    The node stores the block with ``commit`` (it becomes the next block's
    ``last_commit``) and then sends ``StartHeight(height + 1, ...)``.
    """

    height: int
    round: int
    block_hash: ValueId
    commit: Commit
    payload: bytes


@dataclass(frozen=True, slots=True)
class EvidenceFound:
    """A validator signed two different votes for one (height, round, type).

    The node keeps it for inclusion in a block and penalises the validator.
    """

    evidence: Evidence


@dataclass(frozen=True, slots=True)
class ConflictingProposal:
    """The round's proposer signed two different proposals (a peer fault to report).

    Not ledger evidence (that covers votes only): the node logs it and may
    disconnect the peer. The first proposal is the one the core acts on.
    """

    first: Proposal
    second: Proposal


Action = (
    RequestValue
    | RequestValidation
    | SignProposal
    | SignVote
    | BroadcastProposal
    | BroadcastVote
    | ScheduleTimeout
    | Decide
    | EvidenceFound
    | ConflictingProposal
)
