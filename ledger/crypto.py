"""Hashing, Ed25519 keys and bech32m addresses (spec/wire.md §2-3).

Signatures are libsodium's Ed25519 through PyNaCl. libsodium's verification
is strict: it refuses a non-canonical S, and small-order R or public keys, so
every node accepts exactly the same set of signatures.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import nacl.exceptions
import nacl.signing
from bech32m import codecs as bech32

HASH_LEN: Final = 32
KEY_LEN: Final = 32
SIGNATURE_LEN: Final = 64
DEFAULT_HRP: Final = "cc"


class AddressError(ValueError):
    """An account written as text that is not a valid address."""


def blake2b256(data: bytes) -> bytes:
    """BLAKE2b with a 32-byte digest: the only hash of the protocol."""
    return hashlib.blake2b(data, digest_size=HASH_LEN).digest()


@dataclass(frozen=True, slots=True)
class Keypair:
    """An Ed25519 signing key; ``public`` is the account id."""

    seed: bytes
    public: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> Keypair:
        if len(seed) != KEY_LEN:
            raise ValueError(f"an Ed25519 seed is {KEY_LEN} bytes, got {len(seed)}")
        signing = nacl.signing.SigningKey(seed)
        return cls(seed=bytes(seed), public=bytes(signing.verify_key))

    @classmethod
    def generate(cls) -> Keypair:
        return cls.from_seed(bytes(nacl.signing.SigningKey.generate()))

    @classmethod
    def dev(cls, name: str) -> Keypair:
        """Localnet dev account (``alice``...): seed = blake2b256(b"credichain-dev/" + name)."""
        return cls.from_seed(blake2b256(b"credichain-dev/" + name.encode("utf-8")))

    def sign(self, message: bytes) -> bytes:
        return nacl.signing.SigningKey(self.seed).sign(message).signature

    def __repr__(self) -> str:  # never print the seed
        return f"Keypair(public={self.public.hex()})"


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Strict Ed25519 verification; False for any malformed input."""
    if len(public) != KEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    try:
        nacl.signing.VerifyKey(public).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
    return True


# ------------------------------------------------------------- addresses


def encode_address(public: bytes, hrp: str = DEFAULT_HRP) -> str:
    """bech32m (BIP-350) text form of a 32-byte account id."""
    if len(public) != KEY_LEN:
        raise AddressError(f"an account id is {KEY_LEN} bytes, got {len(public)}")
    words = bytes(bech32.convertbits(public, 8, 5, True))
    return str(bech32.bech32_encode(hrp, words, bech32.Encoding.BECH32M))


def decode_address(text: str, hrp: str = DEFAULT_HRP) -> bytes:
    """Account id from bech32m text, or from ``0x`` + 64 hex digits.

    A mistyped address fails its checksum and raises ``AddressError``.
    """
    if not isinstance(text, str):
        raise AddressError("an address must be a string")
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError as exc:
            raise AddressError("hex account id has non-hex characters") from exc
        if len(raw) != KEY_LEN:
            raise AddressError(f"hex account id must be {KEY_LEN} bytes, got {len(raw)}")
        return raw
    try:
        got_hrp, words, spec = bech32.bech32_decode(text)
        raw = bytes(bech32.convertbits(words, 5, 8, False))
    except bech32.DecodeError as exc:
        raise AddressError(
            f"{text!r} is not a valid bech32m address (bad checksum or characters)"
        ) from exc
    if spec != bech32.Encoding.BECH32M:
        raise AddressError(f"{text!r} is not bech32m (bad checksum)")
    if got_hrp != hrp:
        raise AddressError(f"address prefix {got_hrp!r} is not this chain's {hrp!r}")
    if len(raw) != KEY_LEN:
        raise AddressError(f"address does not hold a {KEY_LEN}-byte account id")
    return raw
