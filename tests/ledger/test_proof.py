"""State proofs: they verify for present and absent keys and never lie."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.crypto import blake2b256
from ledger.kv import MemoryKV
from ledger.proof import ProofError, verify_multiproof, verify_proof
from ledger.trie import EMPTY_ROOT, StateTrie
from ledger.trie_nodes import decode_untrusted
from tests.ledger.trie_strategies import keys, root_of, states


def _build(items: dict[bytes, bytes]) -> tuple[StateTrie, bytes]:
    trie = StateTrie(MemoryKV())
    return trie, trie.commit(EMPTY_ROOT, items, 0)


def _answer(root: bytes, key: bytes, proof: list[bytes]) -> bytes | ProofError | None:
    try:
        return verify_proof(root, key, proof)
    except ProofError as exc:
        return exc


@settings(max_examples=200, deadline=None)
@given(items=states, probe=keys)
@example(items={b"a": b"1", b"ab": b"2"}, probe=b"a")  # value in a branch slot
@example(items={b"a": b"1", b"ab": b"2"}, probe=b"abc")  # absent below a leaf
@example(items={}, probe=b"")  # the empty trie
def test_single_key_proofs_verify(items: dict[bytes, bytes], probe: bytes) -> None:
    trie, root = _build(items)
    for key in [*items, probe]:
        proof = trie.prove(root, [key])
        assert verify_proof(root, key, proof) == items.get(key)


@settings(max_examples=150, deadline=None)
@given(items=states, probes=st.lists(keys, max_size=6))
def test_one_proof_for_many_keys(items: dict[bytes, bytes], probes: list[bytes]) -> None:
    trie, root = _build(items)
    wanted = [*list(items)[:5], *probes]
    proof = trie.prove(root, wanted)
    assert len(proof) == len(set(proof))  # deduplicated
    assert verify_multiproof(root, wanted, proof) == {key: items.get(key) for key in wanted}
    for key in wanted:
        assert verify_proof(root, key, proof) == items.get(key)


@settings(max_examples=200, deadline=None)
@given(items=states.filter(bool), data=st.data())
def test_an_altered_proof_never_proves_a_wrong_answer(
    items: dict[bytes, bytes], data: st.DataObject
) -> None:
    """Alter a node, the key, the value or the root: ProofError or a different answer."""
    trie, root = _build(items)
    key = data.draw(st.sampled_from(sorted(items)))
    proof = trie.prove(root, [key])
    truth = items[key]

    # Any byte of any node changed: the node is no longer the one its parent names.
    index = data.draw(st.integers(0, len(proof) - 1))
    node = bytearray(proof[index])
    position = data.draw(st.integers(0, len(node) - 1))
    node[position] ^= data.draw(st.integers(1, 255))
    altered = [*proof[:index], bytes(node), *proof[index + 1 :]]
    assert _answer(root, key, altered) != truth
    assert isinstance(_answer(root, key, altered), ProofError)

    # A node dropped: the walk meets a hash it cannot resolve.
    dropped = proof[:index] + proof[index + 1 :]
    assert isinstance(_answer(root, key, dropped), ProofError)

    # Another key with this proof: the right answer for that key, or no answer.
    other = data.draw(keys)
    answer = _answer(root, other, proof)
    assert isinstance(answer, ProofError) or answer == items.get(other)

    # Another root: the proof's nodes do not hang from it.
    other_root = bytearray(root)
    other_root[data.draw(st.integers(0, 31))] ^= 1
    assert isinstance(_answer(bytes(other_root), key, proof), ProofError)

    # A proof from a trie where the value differs does not verify against this root.
    changed = dict(items)
    changed[key] = truth + b"!"
    other_trie, changed_root = _build(changed)
    assert changed_root != root
    assert isinstance(_answer(root, key, other_trie.prove(changed_root, [key])), ProofError)


def test_absence_proofs_of_every_kind() -> None:
    items = {b"\x12\x34": b"a", b"\x12\x35": b"b", b"\x12": b"c", b"\x99": b"d"}
    trie, root = _build(items)
    for absent in [b"\x12\x36", b"\x12\x34\x00", b"\x13", b"\x1f", b"", b"\x99\x00", b"\x98"]:
        proof = trie.prove(root, [absent])
        assert verify_proof(root, absent, proof) is None


def test_forged_nodes_are_refused() -> None:
    """Nodes that hash right (they are put under their own hash as root) but are malformed."""
    forged = [
        codec.encode([0, b"\x20", b"v"]),  # bad path flag
        codec.encode([1, b"\x00", bytes(32)]),  # extension with an empty path
        codec.encode([1, b"\x01", bytes(31)]),  # extension child that is not a hash
        codec.encode([2, 0b11, bytes(32), b"v"]),  # bitmap names two children, one hash
        codec.encode([2, 0b1, bytes(32) + b"x", None]),  # children not a multiple of 32
        codec.encode([2, 0, b"", b"v"]),  # branch with a value only (not canonical)
        codec.encode([2, 0b1, bytes(32), None]),  # branch with one child only
        codec.encode([2, 1 << 16, bytes(32), b"v"]),  # bitmap beyond 16 nibbles
        codec.encode([2, 0b1, [bytes(32)], b"v"]),  # children as an array
        codec.encode([2, 0b1, bytes(32)]),  # three fields for a branch
        codec.encode([3, b"\x00", b"v"]),  # unknown kind
        codec.encode([0, b"\x00"]),  # two fields
        codec.encode([0, b"\x00", "text"]),  # value that is not bytes
        codec.encode([]),  # empty
        b"\x93\x00\xc4\x01\x00\xcb" + bytes(8),  # a float
    ]
    for node in forged:
        with pytest.raises(ProofError):
            verify_proof(blake2b256(node), b"\x00", [node])
        with pytest.raises(codec.DecodeError):
            decode_untrusted(node)


def test_proof_input_is_checked() -> None:
    trie, root = _build({b"k": b"v"})
    proof = trie.prove(root, [b"k"])
    with pytest.raises(ProofError, match="32 bytes"):
        verify_proof(root[:5], b"k", proof)
    with pytest.raises(ProofError, match="sequence"):
        verify_proof(root, b"k", b"".join(proof))  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="not bytes"):
        verify_proof(root, b"k", ["text"])  # type: ignore[list-item]
    with pytest.raises(ProofError, match="key is bytes"):
        verify_proof(root, "k", proof)  # type: ignore[arg-type]
    assert verify_proof(EMPTY_ROOT, b"k", []) is None


def test_proofs_on_a_large_random_trie() -> None:
    rng = random.Random(5)
    items = {b"acct/" + rng.randbytes(32): rng.randbytes(40) for _ in range(3000)}
    trie, root = _build(items)
    assert root == root_of(items)
    sample = rng.sample(sorted(items), 50)
    proof = trie.prove(root, sample)
    assert verify_multiproof(root, sample, proof) == {key: items[key] for key in sample}
    absent = b"acct/" + bytes(32)
    assert verify_proof(root, absent, trie.prove(root, [absent])) is None
