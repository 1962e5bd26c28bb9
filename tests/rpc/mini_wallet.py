"""A wallet written from spec/wire.md alone, with msgpack and PyNaCl only.

Deliberately independent of ``ledger/``: if the node accepts what this
builds, the wire format is what the spec says, not merely what our own
encoder happens to produce.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgpack
import nacl.signing

DOMAIN = b"CREDICHAIN/EXTRINSIC/1"


def pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def account_of(seed: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def transfer(
    seed: bytes, genesis_hash: bytes, nonce: int, valid_until: int, dest: bytes, amount: int
) -> bytes:
    """A signed ``balances.transfer`` extrinsic, canonical MessagePack (wire.md §4, §6)."""
    key = nacl.signing.SigningKey(seed)
    # Map keys sorted by their UTF-8 bytes: "amount" < "dest".
    call = ["balances", "transfer", {"amount": amount, "dest": dest}]
    unsigned = [1, bytes(key.verify_key), nonce, valid_until, call]
    signature = key.sign(DOMAIN + genesis_hash + pack(unsigned)).signature
    return pack([*unsigned, signature])


def extrinsic_hash(extrinsic: bytes) -> bytes:
    return hashlib.blake2b(extrinsic, digest_size=32).digest()
