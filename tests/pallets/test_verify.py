"""BatchVerifier: the same verdicts with or without threads and memory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import Keypair
from pallets.executive.verify import BatchVerifier, SignedItem

KEYS = [Keypair.dev(name) for name in ("alice", "bob", "charlie")]


def _items(pattern: list[tuple[int, bool]]) -> list[SignedItem]:
    items = []
    for index, (key_index, forged) in enumerate(pattern):
        key = KEYS[key_index]
        message = f"message {index}".encode()
        signature = key.sign(message)
        if forged:
            signature = bytes(64)
        items.append((key.public, message, signature))
    return items


pattern = st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=40)


@settings(max_examples=30, deadline=None)
@given(pattern)
def test_memory_and_threads_never_change_a_verdict(spec: list[tuple[int, bool]]) -> None:
    items = _items(spec)
    expected = [not forged for _, forged in spec]
    with BatchVerifier(2, min_batch=4, remember=8) as verifier:
        assert verifier.verify_many(items) == expected
        assert verifier.verify_many(items) == expected  # answered partly from memory
        assert [verifier.verify_one(*item) for item in items] == expected
    assert BatchVerifier(1).verify_many(items) == expected


def test_memory_is_bounded_and_keeps_only_successes() -> None:
    verifier = BatchVerifier(1, remember=3)
    good = _items([(0, False)] * 5)
    forged = _items([(1, True)])
    assert verifier.verify_many(good + forged) == [True] * 5 + [False]
    assert len(verifier._verified) == 3
    # A forged signature over a remembered message and key is still refused.
    public, message, _ = good[-1]
    assert verifier.verify_one(public, message, bytes(64)) is False


def test_bad_settings_refused() -> None:
    with pytest.raises(ValueError, match="threads"):
        BatchVerifier(0)
    with pytest.raises(ValueError, match="remember"):
        BatchVerifier(1, remember=-1)


class _Counting(BatchVerifier):
    """Counts the checks it really runs (as the node's metrics verifier does)."""

    checked = 0

    def _verify(self, items: list[SignedItem]) -> list[bool]:  # type: ignore[override]
        self.checked += len(items)
        return super()._verify(items)


@settings(max_examples=30, deadline=None)
@given(pattern, st.sampled_from([0, 1, 3, 50]))
def test_verify_one_answers_as_verify_many_and_remembers_alike(
    spec: list[tuple[int, bool]], remember: int
) -> None:
    items = _items(spec)
    expected = [not forged for _, forged in spec]
    one, many = _Counting(1, remember=remember), _Counting(1, remember=remember)
    assert [one.verify_one(*item) for item in items] == expected
    assert [many.verify_many([item])[0] for item in items] == expected
    assert one.checked == many.checked == len(items)
    assert list(one._verified) == list(many._verified)
    assert len(one._verified) <= remember
    # Asked again: what is remembered is not checked again, a forgery always is.
    assert [one.verify_one(*item) for item in items] == expected
    assert [many.verify_many([item])[0] for item in items] == expected
    assert one.checked == many.checked
