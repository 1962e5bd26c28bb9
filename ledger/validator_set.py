"""The validator set: who votes, with what power, hashed into every header.

``ValidatorSet`` is ``[[public, power], ...]`` sorted by public key; the order
is part of its hash (``validators_hash`` and ``next_validators_hash``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import codec
from ledger.codec import DecodeError, expect_bytes, expect_int, expect_list
from ledger.crypto import KEY_LEN, blake2b256


@dataclass(frozen=True, slots=True)
class Validator:
    public: bytes
    power: int

    def to_wire(self) -> list[Any]:
        return [self.public, self.power]


@dataclass(frozen=True, slots=True)
class ValidatorSet:
    """Validators sorted by public key; the order is part of the hash."""

    validators: tuple[Validator, ...]

    def __post_init__(self) -> None:
        keys = [v.public for v in self.validators]
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            raise ValueError("validators must be sorted by public key, without duplicates")
        if any(v.power <= 0 for v in self.validators):
            raise ValueError("validator power must be positive")

    @classmethod
    def of(cls, validators: Sequence[Validator]) -> ValidatorSet:
        return cls(tuple(sorted(validators, key=lambda v: v.public)))

    @property
    def total_power(self) -> int:
        return sum(v.power for v in self.validators)

    def power_of(self, public: bytes) -> int:
        for v in self.validators:
            if v.public == public:
                return v.power
        return 0

    def to_wire(self) -> list[Any]:
        return [v.to_wire() for v in self.validators]

    @classmethod
    def from_wire(cls, value: Any) -> ValidatorSet:
        if not isinstance(value, list):
            raise DecodeError("validator set: expected an array")
        items = [expect_list(v, 2, "validator") for v in value]
        return cls(
            tuple(
                Validator(expect_bytes(p, "validator key", KEY_LEN), expect_int(w, "power", 1))
                for p, w in items
            )
        )

    @property
    def hash(self) -> bytes:
        return blake2b256(codec.encode(self.to_wire()))
