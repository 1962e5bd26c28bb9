"""Proposer selection: CometBFT's weighted round robin from zero priorities."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.proposer import ProposerSelector, proposer_of

from .support import KEYS, validator_set


def test_equal_powers_rotate_in_key_order() -> None:
    vs = validator_set(4)
    keys = [v.public for v in vs.validators]
    assert [proposer_of(vs, h, 0) for h in range(8)] == [keys[h % 4] for h in range(8)]


def test_cometbft_example_sequence() -> None:
    # CometBFT's proposer-selection spec walks p1=1, p2=3 (smaller key wins ties):
    # priorities (1,3) -> pick p2 -> (1,-1) -> (2,2) tie -> p1 -> (-2,2) -> (-1,5) -> p2 ...
    vs = validator_set(2, [1, 3])
    p1, p2 = (v.public for v in vs.validators)
    assert [proposer_of(vs, 0, r) for r in range(8)] == [p2, p1, p2, p2, p2, p1, p2, p2]


def test_rounds_advance_the_schedule_like_heights() -> None:
    vs = validator_set(5, [5, 1, 3, 2, 4])
    selector = ProposerSelector(vs)
    assert [selector.proposer(10, r) for r in range(6)] == [
        proposer_of(vs, 10 + r, 0) for r in range(6)
    ]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=7))
def test_each_validator_proposes_in_proportion_to_power(powers: list[int]) -> None:
    vs = validator_set(len(powers), powers)
    total = vs.total_power
    picks = Counter(proposer_of(vs, 0, r) for r in range(total))
    assert picks == Counter({v.public: v.power for v in vs.validators})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=30),
)
def test_memoised_selector_matches_a_fresh_walk(powers: list[int], height: int, r: int) -> None:
    vs = validator_set(len(powers), powers)
    selector = ProposerSelector(vs)
    selector.proposer(height + 5, 0)  # move the memo ahead, then back
    assert selector.proposer(height, r) == proposer_of(vs, height, r)
    # Periodicity (zero priorities recur after sum(power/gcd) increments), checked directly.
    naive = [0] * len(powers)
    picks = []
    for _ in range(sum(powers) * 2):
        for i, p in enumerate(powers):
            naive[i] += p
        best = max(range(len(powers)), key=lambda i: (naive[i], -i))
        naive[best] -= sum(powers)
        picks.append(best)
    assert picks[: sum(powers)] == picks[sum(powers) :]
    assert naive == [0] * len(powers)


def test_a_large_height_is_cheap_and_consistent() -> None:
    vs = validator_set(4, [1, 2, 3, 4])
    keys = {k.public for k in KEYS}
    assert proposer_of(vs, 10**12, 3) in keys
    assert proposer_of(vs, 10**12, 3) == proposer_of(vs, 10**12 % 10 + 3, 0)
