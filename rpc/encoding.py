"""Text forms of protocol values in JSON (spec/wire.md §3), both directions.

Out: bytes become ``"0x"`` + lowercase hex, accounts bech32m with the
chain's prefix, amounts decimal strings, heights and counts numbers. Values
whose type the RPC layer cannot know (event attributes, metadata) go through
``json_value``: bytes as hex, every integer as a decimal string (a client
reads the type from the metadata; a string never loses precision in
JavaScript).

In: the parameter types (``HexBytes``, ``Hash``, ``Address``, ``Height``)
are pydantic annotated types, so that every refusal names the parameter and
says why. ``Address`` reads the chain's bech32m prefix from the validation
context (``{"hrp": ...}``) and also accepts the ``0x`` hex form of a key.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any, Final

from pydantic import Field, PlainValidator, ValidationInfo, WithJsonSchema

from ledger import codec
from ledger.crypto import DEFAULT_HRP, HASH_LEN, AddressError, decode_address, encode_address
from ledger.types import HEADER_VERSION, Block, Commit, Event, Evidence, Header, Vote
from rpc.backend import ReceiptRecord

MAX_HEX_CHARS: Final = 2 * (1 << 20)  # a single byte string param never exceeds 1 MiB


@functools.lru_cache(maxsize=4096)
def address_text(public: bytes, hrp: str) -> str:
    """bech32m text of an account id.

    Cached: the pure-Python encoder costs ~75 us a call, and the same few
    proposers and validators appear in every header and commit.
    """
    return encode_address(public, hrp)


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


def parse_hex(value: Any) -> bytes:
    """``"0x..."`` (even number of hex digits) to bytes; ValueError saying why."""
    if not isinstance(value, str):
        raise ValueError(f"expected a 0x-prefixed hex string, got {type(value).__name__}")
    if not value.startswith("0x"):
        raise ValueError("hex must start with 0x")
    digits = value[2:]
    if len(digits) > MAX_HEX_CHARS:
        raise ValueError("hex string too long")
    if len(digits) % 2:
        raise ValueError("hex must have an even number of digits")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise ValueError("hex has a character that is not a hex digit") from None


def _parse_hash(value: Any) -> bytes:
    raw = parse_hex(value)
    if len(raw) != HASH_LEN:
        raise ValueError(f"a hash is {HASH_LEN} bytes, got {len(raw)}")
    return raw


def _parse_address(value: Any, info: ValidationInfo) -> bytes:
    hrp = (info.context or {}).get("hrp", DEFAULT_HRP)
    if not isinstance(value, str):
        raise ValueError(f"expected an address string, got {type(value).__name__}")
    try:
        return decode_address(value, hrp)
    except AddressError as exc:
        raise ValueError(str(exc)) from None


HEX_SCHEMA: Final = {"type": "string", "pattern": "^0x([0-9a-fA-F]{2})*$"}
HASH_SCHEMA: Final = {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}
ADDRESS_SCHEMA: Final = {
    "type": "string",
    "description": "bech32m account (chain prefix, e.g. cc1...) or 0x + 64 hex digits",
}
AMOUNT_SCHEMA: Final = {"type": "string", "pattern": "^[0-9]+$", "description": "minor units"}

HexBytes = Annotated[bytes, PlainValidator(parse_hex), WithJsonSchema(HEX_SCHEMA)]
Hash = Annotated[bytes, PlainValidator(_parse_hash), WithJsonSchema(HASH_SCHEMA)]
Address = Annotated[bytes, PlainValidator(_parse_address), WithJsonSchema(ADDRESS_SCHEMA)]
Height = Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]


# ------------------------------------------------------------- outgoing


def json_value(value: Any) -> Any:
    """A decoded MessagePack value of unknown type as JSON (see module doc)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return hex0x(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    raise TypeError(f"no JSON form for {type(value).__name__}")


def header_json(header: Header, hrp: str) -> dict[str, Any]:
    return {
        "version": HEADER_VERSION,
        "hash": hex0x(header.hash),
        "parentHash": hex0x(header.parent_hash),
        "number": header.height,
        "timestamp": header.timestamp_ms,
        "stateRoot": hex0x(header.state_root),
        "extrinsicsRoot": hex0x(header.extrinsics_root),
        "validatorsHash": hex0x(header.validators_hash),
        "proposer": address_text(header.proposer, hrp),
        "lastCommitHash": hex0x(header.last_commit_hash),
        "evidenceRoot": hex0x(header.evidence_root),
        "receiptsRoot": hex0x(header.receipts_root),
        "eventsRoot": hex0x(header.events_root),
        "nextValidatorsHash": hex0x(header.next_validators_hash),
        "proposalRound": header.proposal_round,
        "vrfProof": hex0x(header.vrf_proof),
    }


def commit_json(commit: Commit, hrp: str) -> dict[str, Any]:
    return {
        "height": commit.height,
        "round": commit.round,
        "blockHash": hex0x(commit.block_hash),
        "signatures": [
            {
                "validator": address_text(sig.validator, hrp),
                "timestamp": sig.timestamp_ms,
                "signature": hex0x(sig.signature),
            }
            for sig in commit.signatures
        ],
    }


def block_json(block: Block, commit: Commit | None, hrp: str) -> dict[str, Any]:
    last_commit = block.last_commit
    return {
        "block": {
            "header": header_json(block.header, hrp),
            "extrinsics": [hex0x(x) for x in block.extrinsics],
            "lastCommit": None if last_commit is None else commit_json(last_commit, hrp),
            "evidence": [hex0x(e.hash) for e in block.evidence],
            "evidenceFull": [evidence_json(e, hrp) for e in block.evidence],
        },
        "commit": None if commit is None else commit_json(commit, hrp),
    }


def vote_json(vote: Vote, hrp: str) -> dict[str, Any]:
    return {
        "type": int(vote.vote_type),
        "height": vote.height,
        "round": vote.round,
        "blockHash": None if vote.block_hash is None else hex0x(vote.block_hash),
        "timestamp": vote.timestamp_ms,
        "validator": address_text(vote.validator, hrp),
        "signature": hex0x(vote.signature),
    }


def evidence_json(evidence: Evidence, hrp: str) -> dict[str, Any]:
    """One piece of evidence in full: its hash, ``raw`` = enc(evidence) (the evidence-root
    leaf), and the two votes."""
    return {
        "hash": hex0x(evidence.hash),
        "raw": hex0x(codec.encode(evidence.to_wire())),
        "votes": [vote_json(evidence.vote_a, hrp), vote_json(evidence.vote_b, hrp)],
    }


def event_json(event: Event) -> dict[str, Any]:
    return {"pallet": event.pallet, "name": event.name, "attributes": json_value(event.attrs)}


def receipt_json(record: ReceiptRecord) -> dict[str, Any]:
    receipt = record.receipt
    error = receipt.error
    return {
        "extrinsicHash": hex0x(receipt.extrinsic_hash),
        "blockHash": hex0x(record.block_hash),
        "height": record.height,
        "index": record.index,
        "success": receipt.success,
        "error": None
        if error is None
        else {
            "pallet": error.pallet,
            "code": error.code,
            "rule": error.rule,
            "message": error.message,
        },
        "events": [event_json(e) for e in receipt.events],
        "raw": hex0x(receipt.encode()),
    }


# ------------------------------------------------------------- result schemas

_NULLABLE_HASH: Final = {"oneOf": [HASH_SCHEMA, {"type": "null"}]}
_COUNT: Final = {"type": "integer", "minimum": 0}
HEADER_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "version": {
            "type": "integer",
            "description": "header version, the first element of enc(header) (docs/PROTOCOL.md §3)",
        },
        "hash": HASH_SCHEMA,
        "parentHash": HASH_SCHEMA,
        "number": _COUNT,
        "timestamp": {"type": "integer", "description": "BFT time, ms since the epoch"},
        "stateRoot": HASH_SCHEMA,
        "extrinsicsRoot": HASH_SCHEMA,
        "validatorsHash": HASH_SCHEMA,
        "proposer": ADDRESS_SCHEMA,
        "lastCommitHash": HASH_SCHEMA,
        "evidenceRoot": HASH_SCHEMA,
        "receiptsRoot": HASH_SCHEMA,
        "eventsRoot": HASH_SCHEMA,
        "nextValidatorsHash": HASH_SCHEMA,
        "proposalRound": {
            "type": "integer",
            "minimum": 0,
            "description": "the round the block was proposed in (its VRF input, C6)",
        },
        "vrfProof": {
            "type": "string",
            "pattern": "^0x[0-9a-fA-F]{160}$",
            "description": "the proposer's RFC 9381 ECVRF proof (80 bytes; docs/PROTOCOL.md §3)",
        },
    },
    "required": ["hash", "parentHash", "number", "timestamp", "stateRoot", "extrinsicsRoot"],
}
COMMIT_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "height": _COUNT,
        "round": _COUNT,
        "blockHash": HASH_SCHEMA,
        "signatures": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "validator": ADDRESS_SCHEMA,
                    "timestamp": {"type": "integer"},
                    "signature": HEX_SCHEMA,
                },
            },
        },
    },
}
VOTE_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "type": {"type": "integer", "enum": [1, 2], "description": "1 prevote, 2 precommit"},
        "height": _COUNT,
        "round": _COUNT,
        "blockHash": _NULLABLE_HASH,
        "timestamp": {"type": "integer"},
        "validator": ADDRESS_SCHEMA,
        "signature": HEX_SCHEMA,
    },
}
EVIDENCE_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "hash": HASH_SCHEMA,
        "raw": {**HEX_SCHEMA, "description": "enc(evidence), the evidence root's leaf"},
        "votes": {"type": "array", "items": VOTE_SCHEMA, "minItems": 2, "maxItems": 2},
    },
}
BLOCK_SCHEMA: Final = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "block": {
                    "type": "object",
                    "properties": {
                        "header": HEADER_SCHEMA,
                        "extrinsics": {"type": "array", "items": HEX_SCHEMA},
                        "lastCommit": {"oneOf": [COMMIT_SCHEMA, {"type": "null"}]},
                        "evidence": {"type": "array", "items": HASH_SCHEMA},
                        "evidenceFull": {"type": "array", "items": EVIDENCE_SCHEMA},
                    },
                },
                "commit": {"oneOf": [COMMIT_SCHEMA, {"type": "null"}]},
            },
        },
        {"type": "null"},
    ]
}
# What a receipt, a history entry and chain_getEvents share: the dispatch error
# (null on success) and an event as event_json writes it.
DISPATCH_ERROR_SCHEMA: Final = {
    "oneOf": [
        {
            "type": "object",
            "properties": {k: {"type": "string"} for k in ("pallet", "code", "rule", "message")},
        },
        {"type": "null"},
    ]
}
EVENT_PROPERTIES: Final = {
    "pallet": {"type": "string"},
    "name": {"type": "string"},
    "attributes": {
        "type": "object",
        "description": "bytes as 0x hex, every integer as a decimal string",
    },
}
RECEIPT_SCHEMA: Final = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "extrinsicHash": HASH_SCHEMA,
                "blockHash": HASH_SCHEMA,
                "height": _COUNT,
                "index": _COUNT,
                "success": {"type": "boolean"},
                "error": DISPATCH_ERROR_SCHEMA,
                "events": {
                    "type": "array",
                    "items": {"type": "object", "properties": EVENT_PROPERTIES},
                },
                "raw": {**HEX_SCHEMA, "description": "enc(receipt), the receipts root's leaf"},
            },
        },
        {"type": "null"},
    ]
}
NULLABLE_HASH_SCHEMA: Final = _NULLABLE_HASH
