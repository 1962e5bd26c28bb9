"""Checking a state proof against a state root (docs/protocol/trie.md §4).

Theory of operation
-------------------
A proof is a set of encoded trie nodes. The verifier indexes them by their
hash and walks from the root along the key's nibbles, exactly as a lookup
in the trie would, taking each node from the proof. Because a parent names
its children by hash, the only nodes that can be met on the walk are the
real ones: any altered node has another hash and is simply not found. The
walk ends in one of three ways:

* the key's value (a leaf whose path is the rest of the key, or the value
  slot of the branch where the key ends);
* proven absence (a branch with an empty slot for the next nibble or an
  empty value slot, an extension or a leaf whose path leaves the key's);
* a missing or malformed node: ``ProofError``, the proof proves nothing.

Extra nodes are allowed (one proof serves several keys). Nothing here
needs more than the hash function and the codec.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.codec import DecodeError
from ledger.crypto import HASH_LEN, blake2b256
from ledger.trie_nodes import (
    BRANCH,
    EMPTY_ROOT,
    EXTENSION,
    MAX_KEY_LEN,
    child_at,
    decode_untrusted,
    key_to_nibbles,
)

__all__ = ["ProofError", "verify_multiproof", "verify_proof"]

MAX_PROOF_NODES = 100_000


class ProofError(ValueError):
    """A proof that proves neither the key's value nor its absence."""


def _index(proof: Sequence[bytes]) -> dict[bytes, bytes]:
    candidate: object = proof
    if isinstance(candidate, (bytes, str)) or not isinstance(candidate, Sequence):
        raise ProofError("a proof is a sequence of encoded nodes")
    if len(proof) > MAX_PROOF_NODES:
        raise ProofError(f"proof of {len(proof)} nodes exceeds the limit of {MAX_PROOF_NODES}")
    nodes: dict[bytes, bytes] = {}
    for position, encoded in enumerate(proof):
        if not isinstance(encoded, bytes):
            raise ProofError(f"proof node {position} is {type(encoded).__name__}, not bytes")
        nodes[blake2b256(encoded)] = encoded
    return nodes


def _walk(root: bytes, key: bytes, nodes: dict[bytes, bytes]) -> bytes | None:
    if not isinstance(root, bytes) or len(root) != HASH_LEN:
        raise ProofError(f"a state root is {HASH_LEN} bytes")
    if not isinstance(key, bytes):
        raise ProofError(f"a state key is bytes, got {type(key).__name__}")
    if len(key) > MAX_KEY_LEN:
        raise ProofError(f"state key of {len(key)} bytes exceeds the limit of {MAX_KEY_LEN}")
    if root == EMPTY_ROOT:
        return None
    nibbles = key_to_nibbles(key)
    offset = 0
    node_hash = root
    while True:
        encoded = nodes.get(node_hash)
        if encoded is None:
            raise ProofError(f"the proof lacks node {node_hash.hex()} on the path of the key")
        try:
            node = decode_untrusted(encoded)
        except DecodeError as exc:
            raise ProofError(f"proof node {node_hash.hex()} is malformed: {exc}") from exc
        kind = node[0]
        if kind == BRANCH:
            if offset == len(nibbles):
                value: bytes | None = node[3]
                return value
            child = child_at(node, nibbles[offset])
            if child is None:
                return None
            node_hash = child
            offset += 1
        elif kind == EXTENSION:
            path = node[1]
            if nibbles[offset : offset + len(path)] != path:
                return None
            node_hash = node[2]
            offset += len(path)
        else:
            leaf_value: bytes = node[2]
            return leaf_value if nibbles[offset:] == node[1] else None


def verify_proof(root: bytes, key: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The value of ``key`` under ``root`` if present, ``None`` if proven absent.

    Raises ``ProofError`` when the proof proves neither.
    """
    return _walk(root, key, _index(proof))


def verify_multiproof(
    root: bytes, keys: Sequence[bytes], proof: Sequence[bytes]
) -> dict[bytes, bytes | None]:
    """``verify_proof`` for several keys sharing one proof (nodes hashed once)."""
    nodes = _index(proof)
    return {key: _walk(root, key, nodes) for key in keys}
