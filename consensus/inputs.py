"""Inputs: everything the core knows arrives as one of these.

Theory of operation
-------------------
The node turns I/O into inputs and feeds them to ``Core.step`` one at a time,
appending each to the WAL first (``consensus/wal.py`` encodes them). They are
frozen dataclasses so that a WAL replay feeds back exactly what was fed.

Votes and proposals that come from the network must already have had their
signatures checked (``consensus.verify.check_vote`` /
``check_proposal``): the core trusts signatures and checks everything else
(height, round, membership, proposer). This lets the node verify in worker
threads (PyNaCl releases the GIL) and keeps WAL replay free of crypto.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.types import Proposal, ValidatorSet, Vote

from .types import TimeoutStep, ValueId


@dataclass(frozen=True, slots=True)
class StartHeight:
    """Begin ``height`` with the validator set that finalizes it.

    Sent once at start-up (after WAL replay, if the WAL does not begin the
    height) and after each decided block is committed to the store.
    """

    height: int
    validator_set: ValidatorSet


@dataclass(frozen=True, slots=True)
class ProposalReceived:
    """A proposal from a peer, signature checked; ``payload`` is opaque (e.g. the block)."""

    proposal: Proposal
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class VoteReceived:
    """A vote from a peer (or a precommit from a commit fetched by sync), signature checked."""

    vote: Vote


@dataclass(frozen=True, slots=True)
class ValueReady:
    """Answer to ``RequestValue``: the block the node built for (height, round).

    ``block_time_ms`` is the block's BFT time (its header timestamp). The
    core treats its own value as valid.
    """

    height: int
    round: int
    block_hash: ValueId
    block_time_ms: int
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class BlockValidated:
    """Answer to ``RequestValidation``: did executing ``block_hash`` succeed?

    ``block_time_ms`` is the block's header timestamp (ignored when invalid).
    """

    height: int
    block_hash: ValueId
    valid: bool
    block_time_ms: int = 0


@dataclass(frozen=True, slots=True)
class VoteSigned:
    """Answer to ``SignVote``: our own vote, signed through the signer guard."""

    vote: Vote


@dataclass(frozen=True, slots=True)
class ProposalSigned:
    """Answer to ``SignProposal``: our own proposal, signed through the signer guard."""

    proposal: Proposal


@dataclass(frozen=True, slots=True)
class TimeoutFired:
    """A timer set by ``ScheduleTimeout`` expired."""

    height: int
    round: int
    step: TimeoutStep


Input = (
    StartHeight
    | ProposalReceived
    | VoteReceived
    | ValueReady
    | BlockValidated
    | VoteSigned
    | ProposalSigned
    | TimeoutFired
)
