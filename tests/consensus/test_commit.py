"""Commits: building, verifying (each refusal), and BFT time."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.commit import InvalidCommit, bft_time, build_commit, commit_votes, verify_commit
from ledger.types import Commit, CommitSig, VoteType

from .support import BLOCK_A, BLOCK_B, GENESIS, KEYS, validator_set, vote

PC = VoteType.PRECOMMIT


def make_commit(signers: list[int], *, height: int = 3, round_: int = 1) -> Commit:
    votes = [vote(i, PC, height, round_, BLOCK_A, 1_000 + i) for i in signers]
    return build_commit(height, round_, BLOCK_A, votes)


def test_a_commit_of_three_of_four_verifies_and_is_sorted() -> None:
    commit = make_commit([2, 0, 1])
    verify_commit(commit, validator_set(4), GENESIS)
    assert [s.validator for s in commit.signatures] == sorted(KEYS[i].public for i in (0, 1, 2))
    assert Commit.from_wire(commit.to_wire()) == commit


def test_commit_votes_give_back_the_precommits() -> None:
    commit = make_commit([0, 1, 2])
    votes = commit_votes(commit)
    assert all(v.verify(GENESIS) and v.vote_type is PC for v in votes)
    assert build_commit(3, 1, BLOCK_A, votes) == commit


def test_build_commit_refuses_a_vote_for_something_else() -> None:
    with pytest.raises(ValueError, match="not a precommit for this block"):
        build_commit(3, 1, BLOCK_A, [vote(0, PC, 3, 1, BLOCK_B)])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: replace(c, height=0), "height must be >= 1"),
        (lambda c: replace(c, round=-1), "round must be >= 0"),
        (lambda c: replace(c, block_hash=b"x"), "block hash must be 32 bytes"),
        (lambda c: replace(c, block_hash=BLOCK_B), "bad precommit signature"),
        (lambda c: replace(c, round=2), "bad precommit signature"),
        (lambda c: replace(c, signatures=c.signatures[::-1]), "not sorted/distinct"),
        (lambda c: replace(c, signatures=c.signatures[:1] * 2), "not sorted/distinct"),
        (lambda c: replace(c, signatures=c.signatures[:2]), "not more than 2/3"),
        (
            lambda c: replace(
                c, signatures=(*c.signatures[:2], replace(c.signatures[2], timestamp_ms=7))
            ),
            "bad precommit signature",
        ),
    ],
)
def test_verify_commit_refusals_say_what_is_wrong(mutate: object, message: str) -> None:
    commit = make_commit([0, 1, 2])
    with pytest.raises(InvalidCommit, match=message):
        verify_commit(mutate(commit), validator_set(4), GENESIS)  # type: ignore[operator]


def test_verify_commit_refuses_strangers_and_other_chains() -> None:
    commit = make_commit([0, 1, 2, 5])
    with pytest.raises(InvalidCommit, match="not in the validator set"):
        verify_commit(commit, validator_set(4), GENESIS)
    with pytest.raises(InvalidCommit, match="bad precommit signature"):
        verify_commit(make_commit([0, 1, 2]), validator_set(4), bytes(32))


def test_exactly_two_thirds_is_not_enough() -> None:
    vs = validator_set(3, [2, 2, 2])  # 4 of 6 is exactly 2/3
    with pytest.raises(InvalidCommit, match="signed power 4 is not more than 2/3 of total 6"):
        verify_commit(make_commit([0, 1]), vs, GENESIS)
    verify_commit(make_commit([0, 1, 2]), vs, GENESIS)


def _commit_with_times(times: list[int]) -> Commit:
    sigs = [CommitSig(KEYS[i].public, t, bytes(64)) for i, t in enumerate(times)]
    return Commit(1, 0, BLOCK_A, tuple(sorted(sigs, key=lambda s: s.validator)))


def test_bft_time_is_the_power_weighted_median() -> None:
    vs = validator_set(4, [1, 1, 1, 1])
    assert bft_time(_commit_with_times([10, 20, 30, 40]), vs) == 30
    assert bft_time(_commit_with_times([10, 20, 30]), vs) == 20
    heavy = validator_set(4, [5, 1, 1, 1])
    assert bft_time(_commit_with_times([99, 1, 2, 3]), heavy) == 99


def test_bft_time_refuses_strangers_and_empty_commits() -> None:
    with pytest.raises(InvalidCommit, match="not in the validator set"):
        bft_time(_commit_with_times([1, 2, 3, 4, 5, 6]), validator_set(4))
    with pytest.raises(InvalidCommit, match="without signatures"):
        bft_time(Commit(1, 0, BLOCK_A, ()), validator_set(4))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 5), min_size=4, max_size=7),
    st.data(),
)
def test_bft_time_lies_between_honest_timestamps(powers: list[int], data: st.DataObject) -> None:
    """Byzantine power < 1/3 of the total: the median is never a byzantine extreme."""
    n = len(powers)
    vs = validator_set(n, powers)
    total = sum(powers)
    order = data.draw(st.permutations(range(n)))
    byzantine: list[int] = []
    for i in order:
        if 3 * (sum(powers[j] for j in byzantine) + powers[i]) < total:
            byzantine.append(i)
    # The commit: all byzantine signers plus honest ones until > 2/3.
    signers = list(byzantine)
    for i in order:
        if i not in signers and not 3 * sum(powers[j] for j in signers) > 2 * total:
            signers.append(i)
    honest = [i for i in signers if i not in byzantine]
    times = {i: data.draw(st.integers(1_000, 2_000)) for i in honest}
    for i in byzantine:
        times[i] = data.draw(st.sampled_from([0, 10**12]))
    sigs = [CommitSig(KEYS[i].public, times[i], bytes(64)) for i in signers]
    commit = Commit(1, 0, BLOCK_A, tuple(sorted(sigs, key=lambda s: s.validator)))
    t = bft_time(commit, vs)
    assert min(times[i] for i in honest) <= t <= max(times[i] for i in honest)
