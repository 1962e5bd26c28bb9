"""Hashing, Ed25519 keys (strict verification) and bech32m addresses."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.crypto import (
    AddressError,
    Keypair,
    blake2b256,
    decode_address,
    encode_address,
    verify,
)

# The Ed25519 group order L; S + L is the non-canonical twin of S.
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493


def test_blake2b256_is_hashlib_blake2b_32() -> None:
    assert blake2b256(b"abc") == hashlib.blake2b(b"abc", digest_size=32).digest()


def test_dev_keys_are_deterministic() -> None:
    alice = Keypair.dev("alice")
    assert alice.seed == blake2b256(b"credichain-dev/alice")
    assert Keypair.dev("alice") == alice
    assert Keypair.dev("bob").public != alice.public
    assert "seed" not in repr(alice)


def test_sign_and_verify() -> None:
    key = Keypair.generate()
    sig = key.sign(b"message")
    assert verify(key.public, b"message", sig)
    assert not verify(key.public, b"messagf", sig)
    assert not verify(Keypair.generate().public, b"message", sig)
    assert not verify(key.public[:31], b"message", sig)
    assert not verify(key.public, b"message", sig[:63])


def test_non_canonical_s_refused() -> None:
    key = Keypair.dev("alice")
    sig = key.sign(b"m")
    s = int.from_bytes(sig[32:], "little")
    malleated = sig[:32] + (s + GROUP_ORDER).to_bytes(32, "little")
    assert not verify(key.public, b"m", malleated)


def test_small_order_public_key_and_r_refused() -> None:
    identity = (1).to_bytes(32, "little")  # the neutral point, order 1
    assert not verify(identity, b"m", identity + bytes(32))
    key = Keypair.dev("alice")
    assert not verify(key.public, b"m", identity + key.sign(b"m")[32:])


@given(st.binary(min_size=32, max_size=32))
def test_address_round_trip(raw: bytes) -> None:
    text = encode_address(raw)
    assert text.startswith("cc1")
    assert decode_address(text) == raw
    assert decode_address("0x" + raw.hex()) == raw
    assert decode_address(text.upper()) == raw


@given(st.binary(min_size=32, max_size=32), st.integers(min_value=3, max_value=60))
def test_mistyped_address_refused(raw: bytes, position: int) -> None:
    text = encode_address(raw)
    alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    wrong = alphabet[(alphabet.index(text[position]) + 1) % 32]
    typo = text[:position] + wrong + text[position + 1 :]
    with pytest.raises(AddressError):
        decode_address(typo)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0x1234", "32 bytes"),
        ("0xzz" + "00" * 31, "non-hex"),
        ("nonsense", "not a valid"),
        ("", "not a valid"),
    ],
)
def test_bad_addresses_named(text: str, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        decode_address(text)


def test_other_prefix_refused() -> None:
    raw = Keypair.dev("bob").public
    with pytest.raises(AddressError, match="prefix"):
        decode_address(encode_address(raw, "xx"))
    assert decode_address(encode_address(raw, "xx"), "xx") == raw
