"""Recovery phrases: a BIP-39 mnemonic, and the one way a key is derived from it.

Theory of operation
-------------------
``wallet new`` makes a key from a new 24-word English BIP-39 phrase (256 bits
of entropy, made and checked by the ``mnemonic`` package, the reference
implementation of BIP-39). The key's Ed25519 seed is the first 32 bytes of the
phrase's 64-byte BIP-39 seed (PBKDF2-HMAC-SHA512 of the phrase, salt
"mnemonic", no BIP-39 passphrase): ``seed_of``. ``wallet import --phrase``
takes any valid BIP-39 phrase (12 to 24 words, checksum checked) and derives
the same key. This is credichain's own derivation: another wallet given the
same words (with SLIP-10 or sr25519 paths) derives a different key.

To print a phrase again later (``wallet export NAME --phrase``), a 24-word
phrase's entropy is kept next to the key file, sealed with the same
passphrase, as ``<name>.phrase`` (a ``ledger.keyfile`` document of kind
``phrase`` whose sealed 32 bytes are the entropy, not a signing key).
"""

from __future__ import annotations

import secrets
import unicodedata
from typing import Final

from mnemonic import Mnemonic

WORDS: Final = 24
STRENGTH_BITS: Final = 256
ED25519_SEED_LEN: Final = 32

_english = Mnemonic("english")


class PhraseError(ValueError):
    """Not a valid BIP-39 English phrase."""


def new_phrase() -> str:
    """A new 24-word phrase from 256 bits of the system's randomness."""
    return _english.generate(strength=STRENGTH_BITS)


def normalized(phrase: str) -> str:
    """Words in lower case, single spaces, NFKD (as BIP-39 hashes them); checksum checked."""
    words = unicodedata.normalize("NFKD", phrase).lower().split()
    text = " ".join(words)
    if len(words) not in (12, 15, 18, 21, 24):
        raise PhraseError(f"a recovery phrase has 12, 15, 18, 21 or 24 words, got {len(words)}")
    unknown = [word for word in words if word not in _english.wordlist]
    if unknown:
        raise PhraseError(f"not BIP-39 English words: {', '.join(unknown[:3])}")
    if not _english.check(text):
        raise PhraseError("the phrase's checksum is wrong (a word mistyped or out of order?)")
    return text


def seed_of(phrase: str) -> bytes:
    """The Ed25519 seed of ``phrase``: the first 32 bytes of its BIP-39 seed."""
    return bytes(Mnemonic.to_seed(normalized(phrase), passphrase=""))[:ED25519_SEED_LEN]


def entropy_of(phrase: str) -> bytes:
    return bytes(_english.to_entropy(normalized(phrase)))


def phrase_of(entropy: bytes) -> str:
    return _english.to_mnemonic(entropy)


def positions_to_confirm() -> tuple[int, int]:
    """Two different word positions (1-based, in order) the user types back."""
    first, second = sorted(secrets.SystemRandom().sample(range(1, WORDS + 1), 2))
    return first, second


def numbered(phrase: str) -> str:
    """The words in four columns, numbered, for writing down."""
    words = phrase.split()
    cells = [f"{i:>2}. {word:<9}" for i, word in enumerate(words, 1)]
    return "\n".join("  " + "  ".join(cells[row : row + 4]) for row in range(0, len(cells), 4))
