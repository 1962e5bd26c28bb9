"""Vote keeper: power tallies, duplicates, equivocation evidence, round skipping."""

from __future__ import annotations

from consensus.types import MAX_ROUND_LOOKAHEAD
from consensus.vote_keeper import MAX_VALUES_PER_VALIDATOR, AddResult, VoteKeeper
from ledger import codec
from ledger.crypto import blake2b256
from ledger.types import VoteType

from .support import BLOCK_A, BLOCK_B, KEYS, validator_set, vote

PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT


def keeper(n: int = 4, powers: list[int] | None = None) -> VoteKeeper:
    return VoteKeeper(1, validator_set(n, powers))


def test_quorum_needs_strictly_more_than_two_thirds_of_power() -> None:
    k = keeper(4, [3, 3, 2, 1])  # total 9: a quorum is > 6
    assert k.add(vote(0, PV, 1, 0, BLOCK_A), 0) == (AddResult.ADDED, None)
    assert k.add(vote(1, PV, 1, 0, BLOCK_A), 0)[0] is AddResult.ADDED
    assert not k.has_quorum_for(0, PV, BLOCK_A)  # 6 of 9 is exactly 2/3
    k.add(vote(3, PV, 1, 0, BLOCK_A), 0)
    assert k.has_quorum_for(0, PV, BLOCK_A)  # 7 of 9
    assert not k.has_quorum_for(0, PV, None)


def test_quorum_any_mixes_values_but_counts_each_validator_once() -> None:
    k = keeper()
    k.add(vote(0, PC, 1, 0, BLOCK_A), 0)
    k.add(vote(1, PC, 1, 0, None), 0)
    assert not k.has_quorum_any(0, PC)
    k.add(vote(2, PC, 1, 0, BLOCK_B), 0)
    assert k.has_quorum_any(0, PC)
    assert not k.has_quorum_for(0, PC, BLOCK_A)


def test_duplicates_are_ignored() -> None:
    k = keeper()
    v = vote(0, PV, 1, 0, BLOCK_A)
    k.add(v, 0)
    assert k.add(v, 0) == (AddResult.DUPLICATE, None)
    # Same value, another timestamp: a re-signed vote, not an equivocation.
    assert k.add(vote(0, PV, 1, 0, BLOCK_A, timestamp_ms=5), 0) == (AddResult.DUPLICATE, None)
    assert k.tally(0, PV).total_power == 1


def test_conflicting_votes_make_canonical_evidence_once() -> None:
    k1, k2 = keeper(), keeper()
    a, b = vote(2, PC, 1, 3, BLOCK_A), vote(2, PC, 1, 3, None)
    k1.add(a, 0)
    result, ev1 = k1.add(b, 0)
    k2.add(b, 0)
    _, ev2 = k2.add(a, 0)
    assert result is AddResult.CONFLICT
    assert ev1 is not None and ev1 == ev2  # same evidence whatever the arrival order
    assert codec.encode(ev1.vote_a.to_wire()) < codec.encode(ev1.vote_b.to_wire())
    result, ev3 = k1.add(vote(2, PC, 1, 3, BLOCK_B), 0)
    assert result is AddResult.CONFLICT and ev3 is None  # one evidence per (validator, step)


def test_an_equivocators_vote_counts_for_each_value_it_signed() -> None:
    k = keeper()
    k.add(vote(3, PC, 1, 0, None), 0)  # equivocator tells us nil...
    k.add(vote(3, PC, 1, 0, BLOCK_A), 0)  # ...and the others BLOCK_A
    k.add(vote(0, PC, 1, 0, BLOCK_A), 0)
    k.add(vote(1, PC, 1, 0, BLOCK_A), 0)
    assert k.has_quorum_for(0, PC, BLOCK_A)  # the commit the others saw convinces us
    assert k.tally(0, PC).total_power == 3  # but the equivocator counts once in total
    assert k.precommit_quorums == [(0, BLOCK_A)]
    assert [v.validator for v in k.quorum_votes(0, PC, BLOCK_A)] == sorted(
        KEYS[i].public for i in (0, 1, 3)
    )


def test_values_per_validator_are_capped() -> None:
    k = keeper()
    for i in range(MAX_VALUES_PER_VALIDATOR + 2):
        k.add(vote(0, PV, 1, 0, blake2b256(b"%d" % i)), 0)
    counted = sum(1 for voters in k.tally(0, PV).by_value.values() if voters)
    assert counted == MAX_VALUES_PER_VALIDATOR


def test_votes_of_strangers_other_heights_and_far_rounds_are_ignored() -> None:
    k = keeper(4)
    assert k.add(vote(5, PV, 1, 0, BLOCK_A), 0)[0] is AddResult.IGNORED
    assert k.add(vote(0, PV, 2, 0, BLOCK_A), 0)[0] is AddResult.IGNORED
    far = MAX_ROUND_LOOKAHEAD + 1
    assert k.add(vote(0, PV, 1, far, BLOCK_A), 0)[0] is AddResult.IGNORED
    assert far not in k.rounds


def test_skip_round_needs_more_than_a_third_of_power() -> None:
    k = keeper(4)
    k.add(vote(0, PV, 1, 7, None), 0)
    assert k.skip_round(0) is None  # one of four
    k.add(vote(1, PC, 1, 5, None), 0)
    assert k.skip_round(0) == 5  # two validators at rounds >= 5
    assert k.skip_round(5) is None
    # Far rounds are not stored but still count for skipping.
    k.add(vote(2, PV, 1, 10_000, None), 0)
    k.add(vote(3, PV, 1, 10_000, None), 0)
    assert k.skip_round(5) == 10_000
