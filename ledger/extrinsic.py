"""Extrinsics: the signed ``Call`` a user sends to the runtime.

``Extrinsic`` is ``[1, signer, nonce, valid_until, call, signature]``; the
signature covers ``EXTRINSIC_DOMAIN || genesis_hash || unsigned array``, so an
extrinsic signed for one chain is refused by another (docs/PROTOCOL.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from ledger import codec
from ledger.codec import (
    DecodeError,
    DecodeLimits,
    expect_bytes,
    expect_int,
    expect_list,
    expect_str,
)
from ledger.crypto import KEY_LEN, SIGNATURE_LEN, Keypair, blake2b256, verify
from ledger.record_limits import EXTRINSIC_LIMITS

EXTRINSIC_VERSION: Final = 1
EXTRINSIC_DOMAIN: Final = b"CREDICHAIN/EXTRINSIC/1"


@dataclass(frozen=True, slots=True)
class Call:
    """``[pallet, function, args]``: what an extrinsic asks the runtime to do."""

    pallet: str
    function: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> list[Any]:
        return [self.pallet, self.function, self.args]

    @classmethod
    def from_wire(cls, value: Any) -> Call:
        pallet, function, args = expect_list(value, 3, "call")
        if not isinstance(args, dict):
            raise DecodeError("call args: expected a map")
        return cls(
            expect_str(pallet, "call pallet", 64), expect_str(function, "call function", 64), args
        )


@dataclass(frozen=True, slots=True)
class Extrinsic:
    """A signed extrinsic ``[1, signer, nonce, valid_until, call, signature]``."""

    signer: bytes
    nonce: int
    valid_until: int
    call: Call
    signature: bytes

    def unsigned_wire(self) -> list[Any]:
        return [EXTRINSIC_VERSION, self.signer, self.nonce, self.valid_until, self.call.to_wire()]

    def to_wire(self) -> list[Any]:
        return [*self.unsigned_wire(), self.signature]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @property
    def hash(self) -> bytes:
        return blake2b256(self.encode())

    @staticmethod
    def signing_payload_of(genesis_hash: bytes, unsigned: list[Any]) -> bytes:
        return EXTRINSIC_DOMAIN + genesis_hash + codec.encode(unsigned)

    def signing_payload(self, genesis_hash: bytes) -> bytes:
        return self.signing_payload_of(genesis_hash, self.unsigned_wire())

    def verify(self, genesis_hash: bytes) -> bool:
        return verify(self.signer, self.signing_payload(genesis_hash), self.signature)

    @classmethod
    def create(
        cls, key: Keypair, nonce: int, valid_until: int, call: Call, genesis_hash: bytes
    ) -> Extrinsic:
        unsigned = cls(key.public, nonce, valid_until, call, bytes(SIGNATURE_LEN))
        signature = key.sign(unsigned.signing_payload(genesis_hash))
        return cls(key.public, nonce, valid_until, call, signature)

    @classmethod
    def from_wire(cls, value: Any) -> Extrinsic:
        if not isinstance(value, list) or not value:
            raise DecodeError("extrinsic: expected an array")
        version = value[0]
        if version != EXTRINSIC_VERSION or isinstance(version, bool):
            raise DecodeError(f"extrinsic: unknown version {version!r}")
        _, signer, nonce, valid_until, call, signature = expect_list(value, 6, "extrinsic")
        return cls(
            signer=expect_bytes(signer, "extrinsic signer", KEY_LEN),
            nonce=expect_int(nonce, "extrinsic nonce"),
            valid_until=expect_int(valid_until, "extrinsic valid_until"),
            call=Call.from_wire(call),
            signature=expect_bytes(signature, "extrinsic signature", SIGNATURE_LEN),
        )

    @classmethod
    def decode(cls, data: bytes, limits: DecodeLimits = EXTRINSIC_LIMITS) -> Extrinsic:
        """Decode canonical bytes; raises ``DecodeError`` saying what is wrong."""
        return cls.from_wire(codec.decode(data, limits))
