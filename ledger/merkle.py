"""Binary Merkle root of an ordered list (extrinsics, receipts, events).

RFC 6962 shape with BLAKE2b-256: leaf = H(0x00 || item), node =
H(0x01 || left || right), the left subtree holds the largest power of two
strictly below the count; the root of the empty list is H(b"").
Domain-separated leaves and nodes make a second-preimage by reinterpreting a
node as a leaf impossible.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.crypto import blake2b256


def _root(leaves: Sequence[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return blake2b256(b"\x01" + _root(leaves[:split]) + _root(leaves[split:]))


def merkle_root(items: Sequence[bytes]) -> bytes:
    """Root over ``items`` in order."""
    if not items:
        return blake2b256(b"")
    return _root([blake2b256(b"\x00" + item) for item in items])
