"""The hashed and signed structures of the protocol.

Every structure is a record: a canonical MessagePack array with its fields by
position (spec/wire.md §1). ``to_wire`` gives that array, ``from_wire``
checks and rebuilds it, ``encode``/``decode`` go through ``ledger.codec``.
docs/PROTOCOL.md describes each one byte for byte; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

from ledger import codec, vrf
from ledger.codec import (
    DecodeError,
    DecodeLimits,
    expect_bytes,
    expect_int,
    expect_list,
    expect_str,
)
from ledger.crypto import HASH_LEN, KEY_LEN, SIGNATURE_LEN, Keypair, blake2b256, verify
from ledger.merkle import merkle_root
from ledger.vrf import OUTPUT_LEN as VRF_OUTPUT_LEN
from ledger.vrf import PROOF_LEN as VRF_PROOF_LEN

EXTRINSIC_VERSION: Final = 1
# 2: proposal_round and vrf_proof appended (issue 18, C6).
HEADER_VERSION: Final = 2
EXTRINSIC_DOMAIN: Final = b"CREDICHAIN/EXTRINSIC/1"
VOTE_DOMAIN: Final = b"CREDICHAIN/VOTE/1"
PROPOSAL_DOMAIN: Final = b"CREDICHAIN/PROPOSAL/1"
BLOCK_VRF_DOMAIN: Final = b"CREDICHAIN/BLOCK-VRF/1"
# Genesis has no proposer and no proof: its vrf_proof is 80 zero bytes, never
# verified, and block 1's proof chains on 64 zero bytes instead of an output.
NO_VRF_PROOF: Final = bytes(VRF_PROOF_LEN)
GENESIS_VRF_OUTPUT: Final = bytes(VRF_OUTPUT_LEN)
MAX_ROUND: Final = 2**32 - 1  # a round is a u32 in the VRF input
EMPTY_HASH: Final = bytes(HASH_LEN)

# An extrinsic is small; its decode limits are tighter than the defaults.
EXTRINSIC_LIMITS: Final = DecodeLimits(
    max_size=64 * 1024, max_depth=8, max_container_len=1024, max_bytes_len=32 * 1024
)
BLOCK_LIMITS: Final = DecodeLimits(
    max_size=16 << 20, max_depth=12, max_container_len=100_000, max_bytes_len=64 * 1024
)


# ---------------------------------------------------------------- extrinsics


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


# ---------------------------------------------------------------- validators


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


# ---------------------------------------------------------------- votes


class VoteType(IntEnum):
    PREVOTE = 1
    PRECOMMIT = 2


def vote_sign_bytes(
    genesis_hash: bytes,
    height: int,
    round_: int,
    vote_type: VoteType,
    block_hash: bytes | None,
    timestamp_ms: int,
) -> bytes:
    """The exact bytes a validator signs for a vote (docs/PROTOCOL.md)."""
    body = codec.encode([height, round_, int(vote_type), block_hash, timestamp_ms])
    return VOTE_DOMAIN + genesis_hash + body


@dataclass(frozen=True, slots=True)
class Vote:
    """``[type, height, round, block_hash|nil, timestamp_ms, validator, signature]``.

    ``block_hash`` None is a vote for nil.
    """

    vote_type: VoteType
    height: int
    round: int
    block_hash: bytes | None
    timestamp_ms: int
    validator: bytes
    signature: bytes

    def sign_bytes(self, genesis_hash: bytes) -> bytes:
        return vote_sign_bytes(
            genesis_hash,
            self.height,
            self.round,
            self.vote_type,
            self.block_hash,
            self.timestamp_ms,
        )

    def verify(self, genesis_hash: bytes) -> bool:
        return verify(self.validator, self.sign_bytes(genesis_hash), self.signature)

    @classmethod
    def create(
        cls,
        key: Keypair,
        genesis_hash: bytes,
        vote_type: VoteType,
        height: int,
        round_: int,
        block_hash: bytes | None,
        timestamp_ms: int,
    ) -> Vote:
        sig = key.sign(
            vote_sign_bytes(genesis_hash, height, round_, vote_type, block_hash, timestamp_ms)
        )
        return cls(vote_type, height, round_, block_hash, timestamp_ms, key.public, sig)

    def to_wire(self) -> list[Any]:
        return [
            int(self.vote_type),
            self.height,
            self.round,
            self.block_hash,
            self.timestamp_ms,
            self.validator,
            self.signature,
        ]

    @classmethod
    def from_wire(cls, value: Any) -> Vote:
        t, h, r, bh, ts, val, sig = expect_list(value, 7, "vote")
        vote_type = VoteType(expect_int(t, "vote type", 1, 2))
        block_hash = None if bh is None else expect_bytes(bh, "vote block hash", HASH_LEN)
        return cls(
            vote_type,
            expect_int(h, "vote height"),
            expect_int(r, "vote round"),
            block_hash,
            expect_int(ts, "vote timestamp"),
            expect_bytes(val, "vote validator", KEY_LEN),
            expect_bytes(sig, "vote signature", SIGNATURE_LEN),
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    """``[height, round, pol_round, block_hash, proposer, signature]``; pol_round -1 = none."""

    height: int
    round: int
    pol_round: int
    block_hash: bytes
    proposer: bytes
    signature: bytes

    @staticmethod
    def sign_bytes_of(
        genesis_hash: bytes, height: int, round_: int, pol_round: int, block_hash: bytes
    ) -> bytes:
        return (
            PROPOSAL_DOMAIN + genesis_hash + codec.encode([height, round_, pol_round, block_hash])
        )

    def sign_bytes(self, genesis_hash: bytes) -> bytes:
        return self.sign_bytes_of(
            genesis_hash, self.height, self.round, self.pol_round, self.block_hash
        )

    def verify(self, genesis_hash: bytes) -> bool:
        return verify(self.proposer, self.sign_bytes(genesis_hash), self.signature)

    def to_wire(self) -> list[Any]:
        return [
            self.height,
            self.round,
            self.pol_round,
            self.block_hash,
            self.proposer,
            self.signature,
        ]

    @classmethod
    def from_wire(cls, value: Any) -> Proposal:
        h, r, pol, bh, prop, sig = expect_list(value, 6, "proposal")
        return cls(
            expect_int(h, "proposal height"),
            expect_int(r, "proposal round"),
            expect_int(pol, "proposal pol_round", -1),
            expect_bytes(bh, "proposal block hash", HASH_LEN),
            expect_bytes(prop, "proposal proposer", KEY_LEN),
            expect_bytes(sig, "proposal signature", SIGNATURE_LEN),
        )


@dataclass(frozen=True, slots=True)
class CommitSig:
    """One validator's precommit inside a commit: ``[validator, timestamp_ms, signature]``."""

    validator: bytes
    timestamp_ms: int
    signature: bytes

    def to_wire(self) -> list[Any]:
        return [self.validator, self.timestamp_ms, self.signature]


@dataclass(frozen=True, slots=True)
class Commit:
    """The precommits that finalized ``block_hash`` at ``height`` in ``round``.

    ``[height, round, block_hash, [[validator, timestamp_ms, signature], ...]]``,
    signatures sorted by validator key. Each signature is over
    ``vote_sign_bytes(genesis, height, round, PRECOMMIT, block_hash, timestamp_ms)``.
    """

    height: int
    round: int
    block_hash: bytes
    signatures: tuple[CommitSig, ...]

    def to_wire(self) -> list[Any]:
        return [self.height, self.round, self.block_hash, [s.to_wire() for s in self.signatures]]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @property
    def hash(self) -> bytes:
        return blake2b256(self.encode())

    @classmethod
    def from_wire(cls, value: Any) -> Commit:
        h, r, bh, sigs = expect_list(value, 4, "commit")
        if not isinstance(sigs, list):
            raise DecodeError("commit signatures: expected an array")
        parsed = []
        for item in sigs:
            val, ts, sig = expect_list(item, 3, "commit signature")
            parsed.append(
                CommitSig(
                    expect_bytes(val, "commit validator", KEY_LEN),
                    expect_int(ts, "commit timestamp"),
                    expect_bytes(sig, "commit signature", SIGNATURE_LEN),
                )
            )
        keys = [s.validator for s in parsed]
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            raise DecodeError("commit signatures: must be sorted by validator, no duplicates")
        return cls(
            expect_int(h, "commit height"),
            expect_int(r, "commit round"),
            expect_bytes(bh, "commit block hash", HASH_LEN),
            tuple(parsed),
        )

    @classmethod
    def decode(cls, data: bytes) -> Commit:
        return cls.from_wire(codec.decode(data, BLOCK_LIMITS))


@dataclass(frozen=True, slots=True)
class Evidence:
    """Two conflicting signed votes of one validator for one (height, round, type)."""

    vote_a: Vote
    vote_b: Vote

    def to_wire(self) -> list[Any]:
        return [self.vote_a.to_wire(), self.vote_b.to_wire()]

    @classmethod
    def from_wire(cls, value: Any) -> Evidence:
        a, b = expect_list(value, 2, "evidence")
        return cls(Vote.from_wire(a), Vote.from_wire(b))

    @property
    def hash(self) -> bytes:
        return blake2b256(codec.encode(self.to_wire()))


# ---------------------------------------------------------------- blocks


@dataclass(frozen=True, slots=True)
class Header:
    """Block header. ``state_root`` is the state *after* executing this block.

    ``proposal_round`` is the round the block was built and first proposed in
    (a block committed in round r was proposed in some round <= r and may
    have been re-proposed as a valid value), so the header alone names its
    proposer and its VRF input. ``vrf_proof`` is the proposer's RFC 9381 proof
    over ``block_vrf_alpha`` (chain, height, that round, the parent's output).
    """

    height: int
    timestamp_ms: int
    parent_hash: bytes
    last_commit_hash: bytes
    extrinsics_root: bytes
    evidence_root: bytes
    state_root: bytes
    receipts_root: bytes
    events_root: bytes
    validators_hash: bytes
    next_validators_hash: bytes
    proposer: bytes
    proposal_round: int = 0
    vrf_proof: bytes = NO_VRF_PROOF

    def to_wire(self) -> list[Any]:
        return [
            HEADER_VERSION,
            self.height,
            self.timestamp_ms,
            self.parent_hash,
            self.last_commit_hash,
            self.extrinsics_root,
            self.evidence_root,
            self.state_root,
            self.receipts_root,
            self.events_root,
            self.validators_hash,
            self.next_validators_hash,
            self.proposer,
            self.proposal_round,
            self.vrf_proof,
        ]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @property
    def hash(self) -> bytes:
        return blake2b256(self.encode())

    @classmethod
    def from_wire(cls, value: Any) -> Header:
        fields = expect_list(value, 15, "header")
        if fields[0] != HEADER_VERSION:
            raise DecodeError(f"header: unknown version {fields[0]!r}")
        names = [
            "parent_hash",
            "last_commit_hash",
            "extrinsics_root",
            "evidence_root",
            "state_root",
            "receipts_root",
            "events_root",
            "validators_hash",
            "next_validators_hash",
        ]
        hashes = {
            name: expect_bytes(value, f"header {name}", HASH_LEN)
            for name, value in zip(names, fields[3:12], strict=True)
        }
        return cls(
            height=expect_int(fields[1], "header height"),
            timestamp_ms=expect_int(fields[2], "header timestamp"),
            proposer=expect_bytes(fields[12], "header proposer", KEY_LEN),
            proposal_round=expect_int(fields[13], "header proposal_round", 0, MAX_ROUND),
            vrf_proof=expect_bytes(fields[14], "header vrf_proof", VRF_PROOF_LEN),
            **hashes,
        )


def block_vrf_alpha(
    genesis_hash: bytes, height: int, proposal_round: int, parent_output: bytes
) -> bytes:
    """The VRF input of block ``height`` proposed in ``proposal_round`` (docs/PROTOCOL.md §3).

    ``BLOCK_VRF_DOMAIN || genesis_hash || u64be(height) || u32be(round) ||
    parent_output`` (22 + 32 + 8 + 4 + 64 = 130 bytes); ``parent_output`` is the
    parent block's VRF output (``GENESIS_VRF_OUTPUT`` for block 1).
    """
    if len(genesis_hash) != HASH_LEN or len(parent_output) != VRF_OUTPUT_LEN:
        raise ValueError("block_vrf_alpha: a 32-byte genesis hash and a 64-byte parent output")
    if not 0 <= proposal_round <= MAX_ROUND or not 0 <= height < 2**64:
        raise ValueError("block_vrf_alpha: height is a u64, round a u32")
    return (
        BLOCK_VRF_DOMAIN
        + genesis_hash
        + height.to_bytes(8, "big")
        + proposal_round.to_bytes(4, "big")
        + parent_output
    )


def verify_block_vrf(
    genesis_hash: bytes,
    height: int,
    proposal_round: int,
    proposer: bytes,
    vrf_proof: bytes,
    parent_output: bytes,
) -> bytes | None:
    """The block's 64-byte VRF output if ``vrf_proof`` is the proposer's proof, else None."""
    if not 0 <= proposal_round <= MAX_ROUND or len(parent_output) != VRF_OUTPUT_LEN:
        return None
    alpha = block_vrf_alpha(genesis_hash, height, proposal_round, parent_output)
    return vrf.verify(proposer, vrf_proof, alpha)


@dataclass(frozen=True, slots=True)
class Block:
    """``[header, [extrinsic bytes...], last_commit|nil, [evidence...]]``.

    Extrinsics travel as their encoded bytes so that their hashes never
    depend on a re-encoding. ``last_commit`` finalized the parent (nil at
    height 1); its precommit timestamps fix this block's BFT time.
    """

    header: Header
    extrinsics: tuple[bytes, ...]
    last_commit: Commit | None
    evidence: tuple[Evidence, ...] = ()

    @property
    def hash(self) -> bytes:
        return self.header.hash

    def to_wire(self) -> list[Any]:
        return [
            self.header.to_wire(),
            list(self.extrinsics),
            None if self.last_commit is None else self.last_commit.to_wire(),
            [e.to_wire() for e in self.evidence],
        ]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @classmethod
    def from_wire(cls, value: Any) -> Block:
        header, exts, last_commit, evidence = expect_list(value, 4, "block")
        if not isinstance(exts, list) or not isinstance(evidence, list):
            raise DecodeError("block: extrinsics and evidence must be arrays")
        return cls(
            Header.from_wire(header),
            tuple(expect_bytes(x, "block extrinsic") for x in exts),
            None if last_commit is None else Commit.from_wire(last_commit),
            tuple(Evidence.from_wire(e) for e in evidence),
        )

    @classmethod
    def decode(cls, data: bytes, limits: DecodeLimits = BLOCK_LIMITS) -> Block:
        return cls.from_wire(codec.decode(data, limits))


def extrinsics_root(extrinsics: Sequence[bytes]) -> bytes:
    return merkle_root(list(extrinsics))


def evidence_root(evidence: Sequence[Evidence]) -> bytes:
    return merkle_root([codec.encode(e.to_wire()) for e in evidence])


# ---------------------------------------------------------------- receipts


@dataclass(frozen=True, slots=True)
class Event:
    """``[pallet, name, attributes]`` emitted by a call or a block hook."""

    pallet: str
    name: str
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> list[Any]:
        return [self.pallet, self.name, self.attrs]

    @classmethod
    def from_wire(cls, value: Any) -> Event:
        pallet, name, attrs = expect_list(value, 3, "event")
        if not isinstance(attrs, dict):
            raise DecodeError("event attrs: expected a map")
        return cls(expect_str(pallet, "event pallet"), expect_str(name, "event name"), attrs)


@dataclass(frozen=True, slots=True)
class DispatchError:
    """Why a call failed: ``[pallet, code, rule, message]``; rule may be ""."""

    pallet: str
    code: str
    rule: str
    message: str

    def to_wire(self) -> list[Any]:
        return [self.pallet, self.code, self.rule, self.message]

    @classmethod
    def from_wire(cls, value: Any) -> DispatchError:
        p, c, r, m = expect_list(value, 4, "dispatch error")
        return cls(
            expect_str(p, "error pallet"),
            expect_str(c, "error code"),
            expect_str(r, "error rule"),
            expect_str(m, "error message", 1024),
        )


@dataclass(frozen=True, slots=True)
class Receipt:
    """``[extrinsic_hash, success, error|nil, [event...]]``."""

    extrinsic_hash: bytes
    success: bool
    error: DispatchError | None
    events: tuple[Event, ...]

    def to_wire(self) -> list[Any]:
        return [
            self.extrinsic_hash,
            self.success,
            None if self.error is None else self.error.to_wire(),
            [e.to_wire() for e in self.events],
        ]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @classmethod
    def from_wire(cls, value: Any) -> Receipt:
        h, ok, err, events = expect_list(value, 4, "receipt")
        if not isinstance(ok, bool) or not isinstance(events, list):
            raise DecodeError("receipt: malformed")
        return cls(
            expect_bytes(h, "receipt extrinsic hash", HASH_LEN),
            ok,
            None if err is None else DispatchError.from_wire(err),
            tuple(Event.from_wire(e) for e in events),
        )


def receipts_root(receipts: Sequence[Receipt]) -> bytes:
    return merkle_root([r.encode() for r in receipts])


def events_root(events: Sequence[Event]) -> bytes:
    return merkle_root([codec.encode(e.to_wire()) for e in events])
