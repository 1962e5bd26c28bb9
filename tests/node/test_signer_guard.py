"""The signer guard: refuses conflicts, re-signs identical bytes after reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.crypto import Keypair, blake2b256
from ledger.types import VoteType
from node.daemon.signer_guard import (
    DoubleSignError,
    FileSignerStore,
    MemorySignerStore,
    SignerGuard,
    SignerStateError,
)

KEY = Keypair.dev("guard-test")
GENESIS = blake2b256(b"guard-test")
A, B = blake2b256(b"a"), blake2b256(b"b")
PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT


def guard(path: Path) -> SignerGuard:
    return SignerGuard(KEY, GENESIS, FileSignerStore(path / "signer.state"))


def test_signatures_are_valid_and_persisted_before_return(tmp_path: Path) -> None:
    g = guard(tmp_path)
    vote = g.sign_vote(PV, 5, 0, A, 1000)
    assert vote.verify(GENESIS) and vote.validator == KEY.public
    assert guard(tmp_path).last == (5, 0, 2)
    p = g.sign_proposal(5, 1, 0, A)
    assert p.verify(GENESIS)
    assert guard(tmp_path).last == (5, 1, 1)


def test_conflicting_vote_for_the_same_step_is_refused_even_after_restart(
    tmp_path: Path,
) -> None:
    guard(tmp_path).sign_vote(PC, 5, 2, A, 1000)
    reopened = guard(tmp_path)
    with pytest.raises(DoubleSignError, match="conflicting precommit at height 5 round 2"):
        reopened.sign_vote(PC, 5, 2, B, 1000)
    with pytest.raises(DoubleSignError):
        reopened.sign_vote(PC, 5, 2, None, 1000)


def test_identical_bytes_are_re_signed_after_reopening(tmp_path: Path) -> None:
    first = guard(tmp_path).sign_vote(PV, 5, 2, A, 1000)
    again = guard(tmp_path).sign_vote(PV, 5, 2, A, 1000)
    assert again == first


def test_same_vote_with_a_later_clock_returns_the_stored_one(tmp_path: Path) -> None:
    first = guard(tmp_path).sign_vote(PC, 5, 2, A, 1000)
    later = guard(tmp_path).sign_vote(PC, 5, 2, A, 9999)  # restarted node's clock moved on
    assert later == first and later.timestamp_ms == 1000


def test_earlier_steps_of_the_height_are_re_signed_but_never_new_ones(tmp_path: Path) -> None:
    g = guard(tmp_path)
    prevote = g.sign_vote(PV, 5, 2, A, 1000)
    g.sign_vote(PC, 5, 2, A, 1000)
    reopened = guard(tmp_path)
    assert reopened.sign_vote(PV, 5, 2, A, 1000) == prevote  # WAL replay asks again
    with pytest.raises(DoubleSignError, match="already signed"):
        reopened.sign_vote(PV, 5, 1, None, 1000)  # never signed, and in the past
    with pytest.raises(DoubleSignError, match="already signed"):
        reopened.sign_vote(PC, 4, 9, None, 1000)


def test_conflicting_proposal_is_refused_identical_one_re_signed(tmp_path: Path) -> None:
    first = guard(tmp_path).sign_proposal(7, 0, -1, A)
    assert guard(tmp_path).sign_proposal(7, 0, -1, A) == first
    with pytest.raises(DoubleSignError, match="conflicting proposal at height 7 round 0"):
        guard(tmp_path).sign_proposal(7, 0, -1, B)


def test_a_new_height_forgets_the_old_records(tmp_path: Path) -> None:
    g = guard(tmp_path)
    g.sign_vote(PV, 5, 0, A, 1)
    g.sign_vote(PV, 6, 0, B, 2)
    assert set(guard(tmp_path).records) == {(6, 0, 2)}


def test_state_of_another_key_or_chain_is_refused(tmp_path: Path) -> None:
    guard(tmp_path).sign_vote(PV, 1, 0, A, 1)
    store = FileSignerStore(tmp_path / "signer.state")
    with pytest.raises(SignerStateError, match="another validator key"):
        SignerGuard(Keypair.dev("someone-else"), GENESIS, store)
    with pytest.raises(SignerStateError, match="another chain"):
        SignerGuard(KEY, blake2b256(b"other"), store)
    (tmp_path / "signer.state").write_bytes(b"\x00garbage")
    with pytest.raises(SignerStateError, match="unreadable"):
        guard(tmp_path)


def test_bad_requests_are_refused_with_a_clear_error() -> None:
    g = SignerGuard(KEY, GENESIS, MemorySignerStore())
    with pytest.raises(ValueError, match="bad height/round"):
        g.sign_vote(PV, 0, 0, A, 1)
    with pytest.raises(ValueError, match="pol_round"):
        g.sign_proposal(1, 0, 0, A)
    with pytest.raises(ValueError, match="genesis_hash"):
        SignerGuard(KEY, b"short", MemorySignerStore())


def test_the_file_is_replaced_atomically(tmp_path: Path) -> None:
    g = guard(tmp_path)
    for r in range(5):
        g.sign_vote(PV, 1, r, None, r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signer.state"]
