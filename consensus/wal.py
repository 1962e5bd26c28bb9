"""The consensus write-ahead log as bytes: a pure record codec (no files).

Theory of operation
-------------------
The node appends every input to the WAL *before* giving it to the core, and
syncs the WAL before it signs anything. After a crash it replays the
records into a fresh core, which (being deterministic) reproduces the same
state and actions. ``node/daemon/wal.py`` owns the file; this module owns the bytes
(docs/protocol/consensus.md §6):

    log    = MAGIC || record*
    MAGIC  = b"credichain-wal/1\\n"
    record = length: u32 big-endian || crc32(payload): u32 big-endian || payload
    payload = enc([tag, fields...])            (canonical MessagePack)

A crash can leave a *torn* last record (fewer bytes than its length says) or
garbage after the last good record; a flipped bit fails the CRC. ``decode_log``
returns every input up to the first bad record, the length of that good
prefix, and a message saying what was wrong after it (None when the log is
clean). The file layer truncates the file to the good prefix and reports it.
Records after a bad one are never trusted: their framing cannot be trusted.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.codec import DecodeError, DecodeLimits, expect_bytes, expect_int, expect_list
from ledger.crypto import HASH_LEN
from ledger.types import Proposal, ValidatorSet, Vote

from .inputs import (
    BlockValidated,
    Input,
    ProposalReceived,
    ProposalSigned,
    StartHeight,
    TimeoutFired,
    ValueReady,
    VoteReceived,
    VoteSigned,
)
from .types import TimeoutStep

MAGIC: Final = b"credichain-wal/1\n"
HEADER: Final = struct.Struct(">II")
MAX_RECORD: Final = 32 << 20  # a payload may carry a whole block (<= 16 MiB)
_LIMITS: Final = DecodeLimits(
    max_size=MAX_RECORD, max_depth=12, max_container_len=100_000, max_bytes_len=MAX_RECORD
)

_START_HEIGHT, _PROPOSAL, _VOTE, _VALUE_READY, _VALIDATED = 1, 2, 3, 4, 5
_VOTE_SIGNED, _PROPOSAL_SIGNED, _TIMEOUT = 6, 7, 8


class WalError(ValueError):
    """A WAL that cannot be used at all (wrong magic); the message says why."""


def input_to_wire(inp: Input) -> list[Any]:
    """The record payload's array for ``inp``."""
    match inp:
        case StartHeight(height=h, validator_set=vs):
            return [_START_HEIGHT, h, vs.to_wire()]
        case ProposalReceived(proposal=p, payload=payload):
            return [_PROPOSAL, p.to_wire(), payload]
        case VoteReceived(vote=v):
            return [_VOTE, v.to_wire()]
        case ValueReady(height=h, round=r, block_hash=bh, block_time_ms=t, payload=payload):
            return [_VALUE_READY, h, r, bh, t, payload]
        case BlockValidated(height=h, block_hash=bh, valid=valid, block_time_ms=t):
            return [_VALIDATED, h, bh, valid, t]
        case VoteSigned(vote=v):
            return [_VOTE_SIGNED, v.to_wire()]
        case ProposalSigned(proposal=p):
            return [_PROPOSAL_SIGNED, p.to_wire()]
        case TimeoutFired(height=h, round=r, step=s):
            return [_TIMEOUT, h, r, int(s)]
    raise TypeError(f"not a consensus input: {type(inp).__name__}")


def input_from_wire(value: Any) -> Input:
    """Rebuild an input from its payload array; ``DecodeError`` says what is wrong."""
    if not isinstance(value, list) or not value:
        raise DecodeError("wal record: expected a non-empty array")
    tag = value[0]
    if tag == _START_HEIGHT:
        _, h, vs = expect_list(value, 3, "StartHeight")
        return StartHeight(expect_int(h, "StartHeight height", 1), ValidatorSet.from_wire(vs))
    if tag == _PROPOSAL:
        _, p, payload = expect_list(value, 3, "ProposalReceived")
        return ProposalReceived(Proposal.from_wire(p), expect_bytes(payload, "payload"))
    if tag == _VOTE:
        _, v = expect_list(value, 2, "VoteReceived")
        return VoteReceived(Vote.from_wire(v))
    if tag == _VALUE_READY:
        _, h, r, bh, t, payload = expect_list(value, 6, "ValueReady")
        return ValueReady(
            expect_int(h, "ValueReady height", 1),
            expect_int(r, "ValueReady round"),
            expect_bytes(bh, "ValueReady block hash", HASH_LEN),
            expect_int(t, "ValueReady block time"),
            expect_bytes(payload, "ValueReady payload"),
        )
    if tag == _VALIDATED:
        _, h, bh, valid, t = expect_list(value, 5, "BlockValidated")
        if not isinstance(valid, bool):
            raise DecodeError("BlockValidated valid: expected a bool")
        return BlockValidated(
            expect_int(h, "BlockValidated height", 1),
            expect_bytes(bh, "BlockValidated block hash", HASH_LEN),
            valid,
            expect_int(t, "BlockValidated block time"),
        )
    if tag == _VOTE_SIGNED:
        _, v = expect_list(value, 2, "VoteSigned")
        return VoteSigned(Vote.from_wire(v))
    if tag == _PROPOSAL_SIGNED:
        _, p = expect_list(value, 2, "ProposalSigned")
        return ProposalSigned(Proposal.from_wire(p))
    if tag == _TIMEOUT:
        _, h, r, s = expect_list(value, 4, "TimeoutFired")
        step = TimeoutStep(expect_int(s, "TimeoutFired step", 1, 3))
        return TimeoutFired(expect_int(h, "TimeoutFired height", 1), expect_int(r, "round"), step)
    raise DecodeError(f"wal record: unknown input tag {tag!r}")


def encode_record(inp: Input) -> bytes:
    """One framed record: length, CRC32, canonical payload."""
    payload = codec.encode(input_to_wire(inp))
    if len(payload) > MAX_RECORD:
        raise ValueError(f"wal record of {len(payload)} bytes exceeds {MAX_RECORD}")
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


@dataclass(frozen=True, slots=True)
class WalContents:
    """What ``decode_log`` found: inputs of the good prefix, its length, the problem after it."""

    inputs: tuple[Input, ...]
    good_length: int
    problem: str | None


def decode_log(data: bytes) -> WalContents:
    """Decode a whole log (MAGIC + records); see the module docstring.

    Raises ``WalError`` only when the magic is wrong (not a WAL, or another
    version): that is not a torn tail and must not be "repaired" by truncation.
    """
    if len(data) < len(MAGIC):
        if MAGIC.startswith(data):
            return WalContents((), 0, "torn header" if data else None)
        raise WalError("not a credichain WAL (bad magic)")
    if not data.startswith(MAGIC):
        raise WalError("not a credichain WAL (bad magic)")
    inputs: list[Input] = []
    pos = len(MAGIC)
    end = len(data)
    view = memoryview(data)
    problem: str | None = None
    while pos < end:
        if end - pos < HEADER.size:
            problem = f"torn record header at offset {pos} ({end - pos} bytes)"
            break
        length, crc = HEADER.unpack_from(data, pos)
        if length > MAX_RECORD:
            problem = f"record length {length} at offset {pos} exceeds {MAX_RECORD}"
            break
        start = pos + HEADER.size
        if end - start < length:
            problem = f"torn record at offset {pos}: {end - start} of {length} bytes"
            break
        payload = bytes(view[start : start + length])
        if zlib.crc32(payload) != crc:
            problem = f"CRC mismatch in record at offset {pos}"
            break
        try:
            inputs.append(input_from_wire(codec.decode(payload, _LIMITS)))
        except (DecodeError, ValueError) as exc:
            problem = f"undecodable record at offset {pos}: {exc}"
            break
        pos = start + length
    return WalContents(tuple(inputs), pos, problem)
