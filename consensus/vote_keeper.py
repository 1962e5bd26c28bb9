"""Vote sets of one height: tallies by voting power, duplicates, equivocation.

Theory of operation
-------------------
For each round the keeper holds at most one prevote and one precommit per
validator, and running power tallies per value (``None`` = nil) and in total.
Adding a vote answers one of:

* ``ADDED`` — a new vote; the tallies moved;
* ``DUPLICATE`` — the validator already voted for the same value in this
  (round, type); ignored (a re-signed vote with another timestamp is not an
  equivocation: it cannot help anyone break safety);
* ``CONFLICT`` — the validator already voted for a *different* value in this
  (round, type): an equivocation. The first conflict of each (validator,
  round, type) yields ``ledger.types.Evidence`` whose two votes are in
  canonical order (by encoded bytes), so every node that sees the same pair
  produces the same evidence. The vote still counts *for its value*, as in
  the paper, whose thresholds count messages per value from distinct
  senders: if it did not, a node shown an equivocator's nil precommit could
  never accept a valid commit (or proof-of-lock) that needs the same
  validator's precommit for the block, and a lock could block the height for
  ever. The total of a (round, type) counts each validator once. To bound
  memory, at most ``MAX_VALUES_PER_VALIDATOR`` values per validator and
  (round, type) are kept; a validator that signed more is byzantine, and
  liveness never depends on byzantine votes once honest votes are delivered;
* ``IGNORED`` — not a validator of this height, or a round too far ahead.

Round skipping (paper line 55) needs "f+1 messages from a round above ours".
The keeper tracks each validator's highest round seen and answers the highest
round R such that validators whose highest round is >= R hold more than a
third of the power. Honest validators never go back in rounds, so such an R
is reached by at least one honest validator; this also works for rounds whose
votes were too far ahead to be stored.

Signatures are NOT checked here: the node checks them before the input
reaches the core (see ``consensus/inputs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ledger import codec
from ledger.types import Evidence, ValidatorSet, Vote, VoteType

from .types import MAX_ROUND_LOOKAHEAD, ValueId, is_honest_threshold, is_quorum


class AddResult(Enum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    IGNORED = "ignored"


MAX_VALUES_PER_VALIDATOR = 3


@dataclass(slots=True)
class VoteTally:
    """One (round, type): each validator's first vote, the votes by value, the powers."""

    votes: dict[bytes, Vote] = field(default_factory=dict)  # first vote per validator
    by_value: dict[ValueId | None, dict[bytes, Vote]] = field(default_factory=dict)
    power_by_value: dict[ValueId | None, int] = field(default_factory=dict)
    total_power: int = 0  # each validator once
    values_of: dict[bytes, int] = field(default_factory=dict)  # values counted per validator

    def count(self, vote: Vote, power: int) -> None:
        value = vote.block_hash
        voters = self.by_value.get(value)
        if voters is None:
            voters = self.by_value[value] = {}
        voters[vote.validator] = vote
        self.power_by_value[value] = self.power_by_value.get(value, 0) + power
        self.values_of[vote.validator] = self.values_of.get(vote.validator, 0) + 1

    def votes_for(self, value: ValueId | None) -> tuple[Vote, ...]:
        """The votes for ``value``, sorted by validator key (commit order)."""
        voters = self.by_value.get(value, {})
        return tuple(voters[k] for k in sorted(voters))


@dataclass(slots=True)
class RoundVotes:
    prevotes: VoteTally = field(default_factory=VoteTally)
    precommits: VoteTally = field(default_factory=VoteTally)

    def tally(self, vote_type: VoteType) -> VoteTally:
        return self.prevotes if vote_type is VoteType.PREVOTE else self.precommits


_EMPTY = VoteTally()


class VoteKeeper:
    """All votes of one height; see the module docstring."""

    def __init__(self, height: int, validator_set: ValidatorSet) -> None:
        self.height = height
        self.powers: dict[bytes, int] = {v.public: v.power for v in validator_set.validators}
        self.total_power = validator_set.total_power
        self.rounds: dict[int, RoundVotes] = {}
        self._max_round: dict[bytes, int] = {}
        self._equivocators: set[tuple[bytes, int, int]] = set()
        # (round, value) pairs whose precommits reached a quorum, in the order reached.
        self.precommit_quorums: list[tuple[int, ValueId]] = []

    # ------------------------------------------------------------ adding

    def add(self, vote: Vote, current_round: int) -> tuple[AddResult, Evidence | None]:
        """Add a (signature-checked) vote of this height; see ``AddResult``."""
        power = self.powers.get(vote.validator)
        if power is None or vote.height != self.height:
            return AddResult.IGNORED, None
        r = vote.round
        if r > self._max_round.get(vote.validator, -1):
            self._max_round[vote.validator] = r
        if r > current_round + MAX_ROUND_LOOKAHEAD:
            return AddResult.IGNORED, None
        votes = self.rounds.get(r)
        if votes is None:
            votes = self.rounds[r] = RoundVotes()
        tally = votes.prevotes if vote.vote_type is VoteType.PREVOTE else votes.precommits
        existing = tally.votes.get(vote.validator)
        result, evidence = AddResult.ADDED, None
        if existing is not None:
            if vote.validator in tally.by_value.get(vote.block_hash, ()):
                return AddResult.DUPLICATE, None
            result = AddResult.CONFLICT
            key = (vote.validator, r, int(vote.vote_type))
            if key not in self._equivocators:
                self._equivocators.add(key)
                evidence = _evidence(existing, vote)
            if tally.values_of[vote.validator] >= MAX_VALUES_PER_VALIDATOR:
                return result, evidence
        else:
            tally.votes[vote.validator] = vote
            tally.total_power += power
        tally.count(vote, power)
        if vote.vote_type is VoteType.PRECOMMIT and vote.block_hash is not None:
            value_power = tally.power_by_value[vote.block_hash]
            if is_quorum(value_power, self.total_power) and not is_quorum(
                value_power - power, self.total_power
            ):
                self.precommit_quorums.append((r, vote.block_hash))
        return result, evidence

    # ------------------------------------------------------------ queries

    def tally(self, round_: int, vote_type: VoteType) -> VoteTally:
        votes = self.rounds.get(round_)
        return _EMPTY if votes is None else votes.tally(vote_type)

    def has_quorum_for(self, round_: int, vote_type: VoteType, value: ValueId | None) -> bool:
        """2f+1 votes of ``vote_type`` for ``value`` (None = nil) in ``round_``."""
        tally = self.tally(round_, vote_type)
        return is_quorum(tally.power_by_value.get(value, 0), self.total_power)

    def has_quorum_any(self, round_: int, vote_type: VoteType) -> bool:
        """2f+1 votes of ``vote_type`` for anything in ``round_``."""
        return is_quorum(self.tally(round_, vote_type).total_power, self.total_power)

    def skip_round(self, current_round: int) -> int | None:
        """The highest round above ``current_round`` reached by f+1 power, if any."""
        ahead = sorted(
            ((r, self.powers[v]) for v, r in self._max_round.items() if r > current_round),
            reverse=True,
        )
        power = 0
        for r, p in ahead:
            power += p
            if is_honest_threshold(power, self.total_power):
                return r
        return None

    def quorum_votes(self, round_: int, vote_type: VoteType, value: ValueId) -> tuple[Vote, ...]:
        return self.tally(round_, vote_type).votes_for(value)


def _evidence(first: Vote, second: Vote) -> Evidence:
    a, b = sorted((first, second), key=lambda v: codec.encode(v.to_wire()))
    return Evidence(a, b)
