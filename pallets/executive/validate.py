"""``validate_extrinsic``: every check made before dispatch, shared by the
block executor and the mempool.

Theory of operation
-------------------
An extrinsic is refused, with a reason from spec/rpc.md, when it is too
large, not canonical, of an unknown version, for an unknown call, with
arguments that do not match the call's declared types, for a call that an
extrinsic cannot make (origin), expired (``valid_until`` below the height it
would be included at), with a stale nonce or one too far ahead, or with a
bad signature. Checks run cheapest first; the signature (the expensive one)
comes last, so garbage costs little.

The mempool passes ``max_future_nonce > 0`` to queue extrinsics whose nonce
is ahead of the state; the executor passes 0: in a block, the nonce must be
exactly the signer's next one. The executor may verify signatures in a batch
beforehand (``pallets.executive.verify``) and pass ``signature_ok``.

An extrinsic that passes is a ``CheckedExtrinsic``: decoded, with its call's
declaration, checked arguments, declared operations and weight (time, from
``runtime/weights.py``). Whatever its call then does, it
gets a receipt and its signer's nonce moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.codec import DecodeError, LimitError, NotCanonicalError
from ledger.crypto import blake2b256, verify
from ledger.overlay import StateReader
from ledger.types import EXTRINSIC_DOMAIN, EXTRINSIC_LIMITS, EXTRINSIC_VERSION, Extrinsic
from pallets.executive.registry import PalletRegistry
from pallets.executive.verify import BatchVerifier
from pallets.support import payment
from pallets.support.argtypes import ArgError, check_args
from pallets.support.declare import SIGNED, CallDef
from pallets.support.params import param
from pallets.system.api import account_nonce

# Reasons (spec/rpc.md, code 1010). The text after ": " is detail.
TOO_LARGE: Final = "too large"
NOT_CANONICAL: Final = "not canonical"
MALFORMED: Final = "malformed"
UNKNOWN_VERSION: Final = "unknown version"
UNKNOWN_CALL: Final = "unknown call"
BAD_ARGUMENTS: Final = "bad arguments"
BAD_ORIGIN: Final = "bad origin"
EXPIRED: Final = "expired"
STALE_NONCE: Final = "stale nonce"
FUTURE_NONCE: Final = "future nonce"
NONCE_TOO_FAR: Final = "nonce too far ahead"
BAD_SIGNATURE: Final = "bad signature"
CANNOT_PAY: Final = payment.CANNOT_PAY  # not permanent: the signer may be paid later

# Reasons that can never become valid later (the mempool bans their hashes).
PERMANENT: Final = frozenset(
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
        BAD_SIGNATURE,
    }
)


class InvalidExtrinsic(Exception):
    """Why an extrinsic cannot be included; ``reason`` is what a client is told."""

    def __init__(self, kind: str, detail: str = "") -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind

    @property
    def permanent(self) -> bool:
        return self.kind in PERMANENT


@dataclass(frozen=True, slots=True)
class ValidationRules:
    """What validation needs besides the state: the calls and the chain's identity."""

    registry: PalletRegistry
    genesis_hash: bytes
    # Shared with block execution, so a signature checked on entry to the
    # pool is not checked again when the block runs (see verify.py).
    verifier: BatchVerifier | None = None


@dataclass(frozen=True, slots=True)
class CheckedExtrinsic:
    raw: bytes
    hash: bytes
    extrinsic: Extrinsic
    call: CallDef
    args: dict[str, Any]
    weight: int  # microseconds of the reference machine (runtime/weights.py)
    state_nonce: int  # the signer's next nonce in the state it was checked against
    operations: int = 0  # the declared storage operations: the call's metered budget

    @property
    def signer(self) -> bytes:
        return self.extrinsic.signer

    @property
    def nonce(self) -> int:
        return self.extrinsic.nonce


def signing_payload(raw: bytes, ext: Extrinsic, genesis_hash: bytes) -> bytes:
    """The signed bytes of a decoded extrinsic, cut from its canonical encoding.

    ``raw`` is canonical, so it is the 6-item array header ``0x96``, the five
    unsigned fields, then the signature as ``bin8`` (``0xc4 0x40`` + 64 bytes).
    The encoding of the 5-item unsigned array is therefore ``0x95`` followed
    by the same field bytes: no re-encoding needed.
    """
    if raw[:1] == b"\x96" and raw[-66:-64] == b"\xc4\x40":
        return EXTRINSIC_DOMAIN + genesis_hash + b"\x95" + raw[1:-66]
    return ext.signing_payload(genesis_hash)  # not reached for canonical input


class DecodedExtrinsics:
    """The extrinsics that decoded lately, by their raw bytes (bounded in count and bytes).

    A node decodes one transfer when it enters the pool, again when a block
    carrying it executes and again when the history index reads the block;
    with this memory it decodes it once (issue 23: "decode each extrinsic
    once"). Sound because decoding is a pure function of the bytes and an
    ``Extrinsic`` is frozen (nothing changes a decoded one). Only what decoded
    is kept; the size check runs before the lookup, so a smaller limit still
    refuses a remembered extrinsic.

    Decoding needs no valid signature or funds, so anyone can make a node
    remember what they send: two generations bound it both in entries and in
    raw bytes. When the young one holds ``capacity // 2`` entries or
    ``max_bytes // 2`` bytes it becomes the old one and the old one is
    dropped, so at most about ``capacity`` entries and ``max_bytes`` raw bytes
    (about twice that in memory, with the decoded copy) are held.
    """

    def __init__(self, capacity: int, max_bytes: int) -> None:
        if capacity < 1 or max_bytes < 1:
            raise ValueError("capacity and max_bytes must be at least 1")
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._young: dict[bytes, Extrinsic] = {}
        self._old: dict[bytes, Extrinsic] = {}
        self._young_bytes = 0
        self._old_bytes = 0

    def get(self, raw: bytes) -> Extrinsic | None:
        return self._young.get(raw) or self._old.get(raw)

    def put(self, raw: bytes, ext: Extrinsic) -> None:
        young = self._young
        if raw not in young:
            young[raw] = ext
            self._young_bytes += len(raw)
        if len(young) >= self.capacity // 2 or self._young_bytes >= self.max_bytes // 2:
            self._old, self._young = young, {}
            self._old_bytes, self._young_bytes = self._young_bytes, 0

    @property
    def held_bytes(self) -> int:
        """Raw bytes of the extrinsics held now."""
        return self._young_bytes + self._old_bytes

    def __len__(self) -> int:
        return len(self._young) + len(self._old)


# ~2 s of a full pool's arrivals at 8 000 transfers/s; at most 16 MiB of raw extrinsics.
DECODED: Final = DecodedExtrinsics(16_384, 16 << 20)


def decode_extrinsic(raw: bytes, max_bytes: int) -> Extrinsic:
    """Size, canonical form and version; raises ``InvalidExtrinsic``."""
    if not isinstance(raw, bytes):
        raise InvalidExtrinsic(MALFORMED, "an extrinsic is bytes")
    if len(raw) > max_bytes:
        raise InvalidExtrinsic(TOO_LARGE, f"{len(raw)} bytes, the limit is {max_bytes}")
    known = DECODED.get(raw)
    if known is not None:
        return known
    ext = _decode_new(raw)
    DECODED.put(raw, ext)
    return ext


def _decode_new(raw: bytes) -> Extrinsic:
    try:
        value = codec.decode(raw, EXTRINSIC_LIMITS)
    except NotCanonicalError as exc:
        raise InvalidExtrinsic(NOT_CANONICAL, str(exc)) from exc
    except LimitError as exc:
        raise InvalidExtrinsic(TOO_LARGE, str(exc)) from exc
    except DecodeError as exc:
        raise InvalidExtrinsic(MALFORMED, str(exc)) from exc
    if isinstance(value, list) and value and value[0] != EXTRINSIC_VERSION:
        raise InvalidExtrinsic(UNKNOWN_VERSION, f"version {value[0]!r}, expected 1")
    try:
        return Extrinsic.from_wire(value)
    except DecodeError as exc:
        raise InvalidExtrinsic(MALFORMED, str(exc)) from exc


def validate_extrinsic(
    raw: bytes,
    state: StateReader,
    rules: ValidationRules,
    *,
    height: int,
    max_future_nonce: int = 0,
    max_bytes: int | None = None,
    decoded: Extrinsic | None = None,
    signature_ok: bool | None = None,
) -> CheckedExtrinsic:
    """Check ``raw`` for inclusion at ``height`` against ``state``.

    ``max_bytes`` defaults to the chain parameter ``system.max_extrinsic_bytes``
    read from ``state``; ``decoded`` and ``signature_ok`` let a caller that
    already decoded or batch-verified skip that work.
    """
    if max_bytes is None:
        max_bytes = param(state, "system", "max_extrinsic_bytes")
    if decoded is None:
        ext = decode_extrinsic(raw, max_bytes)
    else:
        if len(raw) > max_bytes:
            raise InvalidExtrinsic(TOO_LARGE, f"{len(raw)} bytes, the limit is {max_bytes}")
        ext = decoded
    call = rules.registry.call(ext.call.pallet, ext.call.function)
    if call is None:
        raise InvalidExtrinsic(UNKNOWN_CALL, f"{ext.call.pallet}.{ext.call.function}")
    try:
        args = check_args(call.args, ext.call.args)
    except ArgError as exc:
        raise InvalidExtrinsic(BAD_ARGUMENTS, str(exc)) from exc
    if call.origin != SIGNED:
        raise InvalidExtrinsic(
            BAD_ORIGIN, f"{call.pallet}.{call.name} needs a {call.origin} origin"
        )
    if ext.valid_until < height:
        raise InvalidExtrinsic(EXPIRED, f"valid until height {ext.valid_until}, now {height}")
    expected = account_nonce(state, ext.signer)
    if ext.nonce < expected:
        raise InvalidExtrinsic(STALE_NONCE, f"nonce {ext.nonce}, the next is {expected}")
    if ext.nonce > expected + max_future_nonce:
        kind = FUTURE_NONCE if max_future_nonce == 0 else NONCE_TOO_FAR
        raise InvalidExtrinsic(kind, f"nonce {ext.nonce}, the next is {expected}")
    if signature_ok is None:
        payload = signing_payload(raw, ext, rules.genesis_hash)
        signature_ok = (
            verify(ext.signer, payload, ext.signature)
            if rules.verifier is None
            else rules.verifier.verify_one(ext.signer, payload, ext.signature)
        )
    if not signature_ok:
        raise InvalidExtrinsic(BAD_SIGNATURE)
    operations = call.weight_of(args)
    return CheckedExtrinsic(
        raw=raw,
        hash=blake2b256(raw),
        extrinsic=ext,
        call=call,
        args=args,
        weight=rules.registry.weights.weight(call, operations),
        state_nonce=expected,
        operations=operations,
    )
