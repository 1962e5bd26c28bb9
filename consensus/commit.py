"""Commits: building one from precommits, checking one, and BFT time.

Theory of operation
-------------------
A block is final at height h once more than two thirds of h's voting power
precommitted its hash in one round. The ``Commit`` (ledger.types) carries
those precommits as ``(validator, timestamp_ms, signature)`` sorted by
validator; each signature is over

    vote_sign_bytes(genesis_hash, height, round, PRECOMMIT, block_hash, timestamp_ms)

``verify_commit`` lets anyone (a syncing node, an auditor, a light client)
check a commit against the validator set of its height; it raises
``InvalidCommit`` naming the first problem found.

BFT time (as in CometBFT): block h+1's timestamp is the voting-power-weighted
median of the timestamps of the precommits in its ``last_commit`` (the commit
of block h). Each honest precommit is stamped ``max(clock, time(h) + 1)``;
validators in a commit hold more than 2/3 of the power and byzantine ones
less than 1/3 of it, so less than half of the commit's power is byzantine
and the median lies between two honest timestamps: no single validator sets
the clock, and time strictly increases from block to block.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.crypto import HASH_LEN, verify
from ledger.types import Commit, CommitSig, ValidatorSet, Vote, VoteType, vote_sign_bytes

from .types import is_quorum


class InvalidCommit(ValueError):
    """A commit that does not prove what it claims; the message says why."""


def build_commit(height: int, round_: int, block_hash: bytes, precommits: Iterable[Vote]) -> Commit:
    """The commit made of ``precommits`` (all for ``block_hash`` at height/round)."""
    sigs = []
    for vote in precommits:
        if (
            vote.vote_type is not VoteType.PRECOMMIT
            or vote.height != height
            or vote.round != round_
            or vote.block_hash != block_hash
        ):
            raise ValueError(f"build_commit: {vote!r} is not a precommit for this block")
        sigs.append(CommitSig(vote.validator, vote.timestamp_ms, vote.signature))
    sigs.sort(key=lambda s: s.validator)
    return Commit(height, round_, block_hash, tuple(sigs))


def commit_votes(commit: Commit) -> tuple[Vote, ...]:
    """The commit's signatures as the precommit votes they are (to feed a core)."""
    return tuple(
        Vote(
            VoteType.PRECOMMIT,
            commit.height,
            commit.round,
            commit.block_hash,
            s.timestamp_ms,
            s.validator,
            s.signature,
        )
        for s in commit.signatures
    )


def verify_commit(commit: Commit, validator_set: ValidatorSet, genesis_hash: bytes) -> None:
    """Raise ``InvalidCommit`` unless ``commit`` finalizes its block for ``validator_set``.

    Checks: height >= 1, round >= 0, a 32-byte block hash; signers sorted,
    distinct, all in the set; every signature valid over the precommit sign
    bytes; signed power strictly more than 2/3 of the set's total power.
    """
    if not isinstance(commit, Commit):
        raise InvalidCommit(f"expected a Commit, got {type(commit).__name__}")
    if commit.height < 1:
        raise InvalidCommit(f"commit height must be >= 1, got {commit.height}")
    if commit.round < 0:
        raise InvalidCommit(f"commit round must be >= 0, got {commit.round}")
    if len(commit.block_hash) != HASH_LEN:
        raise InvalidCommit(f"commit block hash must be {HASH_LEN} bytes")
    if len(genesis_hash) != HASH_LEN:
        raise InvalidCommit(f"genesis hash must be {HASH_LEN} bytes")
    powers = {v.public: v.power for v in validator_set.validators}
    signed = 0
    previous: bytes | None = None
    for sig in commit.signatures:
        who = sig.validator.hex()
        if previous is not None and sig.validator <= previous:
            raise InvalidCommit(f"commit signatures not sorted/distinct at validator {who}")
        previous = sig.validator
        power = powers.get(sig.validator)
        if power is None:
            raise InvalidCommit(f"validator {who} is not in the validator set")
        message = vote_sign_bytes(
            genesis_hash,
            commit.height,
            commit.round,
            VoteType.PRECOMMIT,
            commit.block_hash,
            sig.timestamp_ms,
        )
        if not verify(sig.validator, message, sig.signature):
            raise InvalidCommit(f"bad precommit signature from validator {who}")
        signed += power
    if not is_quorum(signed, validator_set.total_power):
        raise InvalidCommit(
            f"signed power {signed} is not more than 2/3 of total {validator_set.total_power}"
        )


def bft_time(commit: Commit, validator_set: ValidatorSet) -> int:
    """The voting-power-weighted median of the commit's timestamps (ms).

    Sort by (timestamp, validator) and return the timestamp at which the
    cumulative power first exceeds half (rounded down) of the commit's signed
    power. CometBFT's ``weightedMedian`` stops at "reaches" rather than
    "exceeds"; with a commit of power C whose byzantine part B is exactly
    C // 2 that can return a byzantine extreme. Since B < C / 2 always holds
    (B < T/3 < C/2), "exceeds" always lands on or between honest timestamps.
    """
    powers = {v.public: v.power for v in validator_set.validators}
    weighted = []
    for sig in commit.signatures:
        power = powers.get(sig.validator)
        if power is None:
            raise InvalidCommit(f"validator {sig.validator.hex()} is not in the validator set")
        weighted.append((sig.timestamp_ms, sig.validator, power))
    if not weighted:
        raise InvalidCommit("a commit without signatures has no BFT time")
    weighted.sort()
    remaining = sum(p for _, _, p in weighted) // 2
    for timestamp, _, power in weighted:
        if remaining < power:
            return timestamp
        remaining -= power
    raise AssertionError("unreachable: the walk passes half of the total")
