"""Fuzz targets of the ledger: the canonical codec and the extrinsic decoder.

Theory of operation
-------------------
``codec`` feeds bytes to ``ledger.codec.decode`` with the default limits and
with the tight extrinsic limits; whatever it accepts must re-encode to the
same bytes (one value, one encoding). Its declared error is ``CodecError``.

``extrinsic`` feeds bytes to everything a node does with an extrinsic from a
client or a peer before dispatch: ``Extrinsic.decode`` and
``pallets.executive.validate.validate_extrinsic`` against the genesis state of
the real runtime (all pallets, their argument types in
``pallets.support.argtypes``). The declared errors are ``DecodeError`` and
``InvalidExtrinsic``; an ``InvalidExtrinsic`` must carry a reason of
spec/rpc.md (code 1010) and, except for a bad signature, a detail naming
what is wrong. Both decoders must agree on what is well-formed.
"""

from __future__ import annotations

import functools
from typing import Any

from ledger import codec
from ledger.codec import CodecError, DecodeError
from ledger.crypto import Keypair
from ledger.types import EXTRINSIC_LIMITS, Call, Extrinsic
from pallets.executive.validate import (
    BAD_ARGUMENTS,
    BAD_ORIGIN,
    BAD_SIGNATURE,
    EXPIRED,
    FUTURE_NONCE,
    MALFORMED,
    NONCE_TOO_FAR,
    NOT_CANONICAL,
    STALE_NONCE,
    TOO_LARGE,
    UNKNOWN_CALL,
    UNKNOWN_VERSION,
    CheckedExtrinsic,
    InvalidExtrinsic,
    validate_extrinsic,
)
from pallets.support import argtypes
from pallets.support.declare import CallDef
from tests.fuzz.harness import Target
from tests.pallets.helpers import TestChain

REASONS = frozenset(
    {
        TOO_LARGE,
        NOT_CANONICAL,
        MALFORMED,
        UNKNOWN_VERSION,
        UNKNOWN_CALL,
        BAD_ARGUMENTS,
        BAD_ORIGIN,
        EXPIRED,
        STALE_NONCE,
        FUTURE_NONCE,
        NONCE_TOO_FAR,
        BAD_SIGNATURE,
    }
)
ALICE = Keypair.dev("alice")
BOB = Keypair.dev("bob")


# ---------------------------------------------------------------- codec


def _parse_codec(data: bytes) -> tuple[Any, Any]:
    value = codec.decode(data)
    try:
        tight: Any = codec.decode(data, EXTRINSIC_LIMITS)
    except CodecError as exc:
        tight = exc
    return value, tight


def _codec_accepted(data: bytes, decoded: tuple[Any, Any]) -> None:
    value, tight = decoded
    again = codec.encode(value)
    assert again == data, f"accepted bytes re-encode differently: {data.hex()} -> {again.hex()}"
    if not isinstance(tight, CodecError):
        assert tight == value, "the two limit sets decoded one input to two values"


def _codec_seeds() -> list[bytes]:
    values: list[Any] = [
        0,
        -1,
        2**64 - 1,
        -(2**63),
        b"",
        b"\x00" * 40,
        "credichain",
        [1, [2, [3, [4]]]],
        {"amount": 5, "dest": bytes(32)},
        [None, True, False, {"a": [b"x", "y"]}],
    ]
    return [codec.encode(v) for v in values]


CODEC = Target(
    name="codec",
    doc="ledger.codec.decode (default and extrinsic limits); accepted bytes re-encode identically",
    parse=_parse_codec,
    refusals=(CodecError,),
    seeds=_codec_seeds,
    accepted=_codec_accepted,
)


# ---------------------------------------------------------------- extrinsics


@functools.cache
def chain() -> TestChain:
    """A genesis state of the real runtime; built once per process (read only)."""
    return TestChain()


def sample_value(kind: argtypes.ArgType) -> Any:
    """A valid value of ``kind`` (for seeds); None for a type this helper does not know."""
    if isinstance(kind, argtypes.Int):
        return kind.minimum
    if isinstance(kind, argtypes.FixedBytes):
        return bytes(kind.length)
    if isinstance(kind, argtypes.Bytes):
        return b""
    if isinstance(kind, argtypes.Text):
        return "x"
    if isinstance(kind, argtypes.Bool):
        return False
    if isinstance(kind, argtypes.Enum):
        return kind.values[0]
    if isinstance(kind, argtypes.List):
        return [sample_value(kind.of) for _ in range(kind.min_len)]
    if isinstance(kind, argtypes.Optional):
        return None
    if isinstance(kind, argtypes.Record):
        return [sample_value(t) for _, t in kind.fields]
    return None


def all_calls() -> list[CallDef]:
    return [call for pallet in chain().runtime.rules.registry.pallets for call in pallet.calls]


def sign(call: Call, *, nonce: int = 0, valid_until: int = 100, key: Keypair = ALICE) -> bytes:
    return Extrinsic.create(key, nonce, valid_until, call, chain().genesis_hash).encode()


def _extrinsic_seeds() -> list[bytes]:
    seeds = [sign(Call("balances", "transfer", {"dest": BOB.public, "amount": 10}))]
    for call in all_calls():
        args = {name: sample_value(kind) for name, kind in call.args}
        seeds.append(sign(Call(call.pallet, call.name, args)))
    return seeds


def _parse_extrinsic(data: bytes) -> CheckedExtrinsic:
    try:
        decoded: Extrinsic | DecodeError = Extrinsic.decode(data)
    except DecodeError as exc:
        decoded = exc
    test_chain = chain()
    try:
        checked = validate_extrinsic(
            data,
            test_chain.state(),
            test_chain.runtime.rules,
            height=1,
            max_future_nonce=16,
        )
    except InvalidExtrinsic as exc:
        # The two decoders agree: what the validator found well-formed decodes.
        if exc.kind not in (TOO_LARGE, NOT_CANONICAL, MALFORMED, UNKNOWN_VERSION):
            assert isinstance(decoded, Extrinsic), f"{exc.reason} but Extrinsic.decode: {decoded}"
        raise
    assert isinstance(decoded, Extrinsic), "validated bytes that Extrinsic.decode refuses"
    return checked


def _extrinsic_accepted(data: bytes, checked: CheckedExtrinsic) -> None:
    assert checked.raw == data
    assert checked.extrinsic.encode() == data, "accepted extrinsic re-encodes differently"
    assert checked.extrinsic.verify(chain().genesis_hash)


def _explain_extrinsic(exc: BaseException) -> str | None:
    assert isinstance(exc, InvalidExtrinsic)
    if exc.kind not in REASONS:
        return f"reason {exc.kind!r} is not one of spec/rpc.md"
    if exc.kind != BAD_SIGNATURE and not exc.detail.strip():
        return f"{exc.kind} without a detail saying what is wrong"
    return None


EXTRINSIC = Target(
    name="extrinsic",
    doc=(
        "Extrinsic.decode and validate_extrinsic (argument types of every call) "
        "against the genesis state of the real runtime"
    ),
    parse=_parse_extrinsic,
    refusals=(InvalidExtrinsic,),
    seeds=_extrinsic_seeds,
    accepted=_extrinsic_accepted,
    explains=_explain_extrinsic,
)
