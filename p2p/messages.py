"""The messages peers exchange after the handshake (docs/protocol/p2p.md §4).

Theory of operation
-------------------
Each message is a frozen dataclass with a one-byte type id, ``to_wire``
(a canonical MessagePack record, fields by position) and ``from_wire``
(checks every field, raises ``MessageError`` naming the field). The frame
layer (``p2p.framing``) carries ``type id`` + ``encode(to_wire())``;
``decode_message`` turns a frame body back into a message with decode limits
chosen per type, so an Extrinsics batch can never hold a 16 MiB string and a
Vote can never be more than a few hundred bytes.

Protocol records (votes, proposals) use ``ledger.types`` as they are; blocks,
commits and extrinsics travel as their encoded bytes, because their hashes
are over those bytes and the node decodes and verifies them itself.

``gossip_keys`` gives the hashes under which a message is deduplicated: the
extrinsic hash for each extrinsic of a batch, ``H(type || body)`` for a
proposal or a vote (so a tampered copy does not shadow the genuine one),
and the document hash for a Document (a text or file of a credit request,
F10: validators keep them off chain, node/daemon/documents.py). A
DocumentRequest asks a peer for documents by hash (a node that was away
when they were gossiped); the answer is Document messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Final

from ledger import codec
from ledger.codec import DecodeError, DecodeLimits, expect_bytes, expect_int, expect_list
from ledger.crypto import HASH_LEN, blake2b256
from ledger.types import BLOCK_LIMITS, EXTRINSIC_LIMITS
from ledger.types import Proposal as LedgerProposal
from ledger.types import Vote as LedgerVote

MAX_BLOCK_BYTES: Final = BLOCK_LIMITS.max_size
MAX_EXTRINSIC_BYTES: Final = EXTRINSIC_LIMITS.max_size
MAX_COMMIT_BYTES: Final = 1 << 20
MAX_EXTRINSICS_PER_BATCH: Final = 4096
MAX_EXTRINSICS_BATCH_BYTES: Final = 4 << 20
MAX_HAVE_HASHES: Final = 1024
MAX_BLOCKS_PER_REQUEST: Final = 64
MAX_BLOCK_RESPONSE_BYTES: Final = 32 << 20
# A document kept beside the chain (F10): the same bound for RPC, gossip and the store.
MAX_DOCUMENT_BYTES: Final = 256 * 1024
MAX_DOCUMENTS_PER_REQUEST: Final = 64


class MessageError(DecodeError):
    """A frame body that is not a valid message of its type (a peer fault)."""


class MessageType(IntEnum):
    STATUS = 1
    PROPOSAL = 2
    VOTE = 3
    EXTRINSICS = 4
    BLOCK_REQUEST = 5
    BLOCK_RESPONSE = 6
    HAVE = 7
    PING = 8
    PONG = 9
    DOCUMENT = 10
    DOCUMENT_REQUEST = 11


@dataclass(frozen=True, slots=True)
class Status:
    """Where a node is: last committed ``height`` and its hash, the round it is in."""

    TYPE: ClassVar[MessageType] = MessageType.STATUS
    height: int
    round: int
    best_hash: bytes
    genesis_hash: bytes

    def to_wire(self) -> list[Any]:
        return [self.height, self.round, self.best_hash, self.genesis_hash]

    @classmethod
    def from_wire(cls, value: Any) -> Status:
        h, r, best, genesis = expect_list(value, 4, "status")
        return cls(
            expect_int(h, "status height"),
            expect_int(r, "status round"),
            expect_bytes(best, "status best_hash", HASH_LEN),
            expect_bytes(genesis, "status genesis_hash", HASH_LEN),
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    """A signed proposal with the full encoded block it proposes."""

    TYPE: ClassVar[MessageType] = MessageType.PROPOSAL
    proposal: LedgerProposal
    block: bytes

    def to_wire(self) -> list[Any]:
        return [self.proposal.to_wire(), self.block]

    @classmethod
    def from_wire(cls, value: Any) -> Proposal:
        proposal, block = expect_list(value, 2, "proposal message")
        block = expect_bytes(block, "proposal block")
        if len(block) > MAX_BLOCK_BYTES:
            raise MessageError(f"proposal block: {len(block)} bytes exceeds {MAX_BLOCK_BYTES}")
        return cls(LedgerProposal.from_wire(proposal), block)


@dataclass(frozen=True, slots=True)
class Vote:
    TYPE: ClassVar[MessageType] = MessageType.VOTE
    vote: LedgerVote

    def to_wire(self) -> list[Any]:
        return self.vote.to_wire()

    @classmethod
    def from_wire(cls, value: Any) -> Vote:
        return cls(LedgerVote.from_wire(value))


@dataclass(frozen=True, slots=True)
class Extrinsics:
    """A batch of encoded extrinsics (the node decodes and checks each)."""

    TYPE: ClassVar[MessageType] = MessageType.EXTRINSICS
    extrinsics: tuple[bytes, ...]

    def to_wire(self) -> list[Any]:
        return list(self.extrinsics)

    @classmethod
    def from_wire(cls, value: Any) -> Extrinsics:
        if not isinstance(value, list) or not value:
            raise MessageError("extrinsics: expected a non-empty array")
        if len(value) > MAX_EXTRINSICS_PER_BATCH:
            raise MessageError(f"extrinsics: more than {MAX_EXTRINSICS_PER_BATCH} in one batch")
        items = tuple(expect_bytes(x, "extrinsics item") for x in value)
        for item in items:
            if not 0 < len(item) <= MAX_EXTRINSIC_BYTES:
                raise MessageError(
                    f"extrinsics item: size {len(item)} outside 1..{MAX_EXTRINSIC_BYTES}"
                )
        return cls(items)


@dataclass(frozen=True, slots=True)
class BlockRequest:
    """Ask for committed blocks ``from_height .. from_height + count - 1``."""

    TYPE: ClassVar[MessageType] = MessageType.BLOCK_REQUEST
    request_id: int
    from_height: int
    count: int

    def to_wire(self) -> list[Any]:
        return [self.request_id, self.from_height, self.count]

    @classmethod
    def from_wire(cls, value: Any) -> BlockRequest:
        rid, start, count = expect_list(value, 3, "block request")
        return cls(
            expect_int(rid, "block request id"),
            expect_int(start, "block request from_height"),
            expect_int(count, "block request count", 1, MAX_BLOCKS_PER_REQUEST),
        )


@dataclass(frozen=True, slots=True)
class BlockResponse:
    """Committed blocks with the commits that finalized them, in height order.

    Fewer entries than asked means the server has no more (or hit its byte
    bound); an empty list means it has none of them.
    """

    TYPE: ClassVar[MessageType] = MessageType.BLOCK_RESPONSE
    request_id: int
    blocks: tuple[tuple[bytes, bytes], ...]

    def to_wire(self) -> list[Any]:
        return [self.request_id, [[block, commit] for block, commit in self.blocks]]

    @classmethod
    def from_wire(cls, value: Any) -> BlockResponse:
        rid, entries = expect_list(value, 2, "block response")
        if not isinstance(entries, list) or len(entries) > MAX_BLOCKS_PER_REQUEST:
            raise MessageError(f"block response: expected at most {MAX_BLOCKS_PER_REQUEST} entries")
        blocks = []
        for entry in entries:
            block, commit = expect_list(entry, 2, "block response entry")
            block = expect_bytes(block, "block response block")
            commit = expect_bytes(commit, "block response commit")
            if len(block) > MAX_BLOCK_BYTES or len(commit) > MAX_COMMIT_BYTES:
                raise MessageError("block response entry: block or commit too large")
            blocks.append((block, commit))
        return cls(expect_int(rid, "block response id"), tuple(blocks))


@dataclass(frozen=True, slots=True)
class Have:
    """Gossip keys the sender already has: do not send it those items."""

    TYPE: ClassVar[MessageType] = MessageType.HAVE
    keys: tuple[bytes, ...]

    def to_wire(self) -> list[Any]:
        return list(self.keys)

    @classmethod
    def from_wire(cls, value: Any) -> Have:
        if not isinstance(value, list) or not 0 < len(value) <= MAX_HAVE_HASHES:
            raise MessageError(f"have: expected 1..{MAX_HAVE_HASHES} hashes")
        return cls(tuple(expect_bytes(k, "have hash", HASH_LEN) for k in value))


@dataclass(frozen=True, slots=True)
class Ping:
    TYPE: ClassVar[MessageType] = MessageType.PING
    nonce: int

    def to_wire(self) -> list[Any]:
        return [self.nonce]

    @classmethod
    def from_wire(cls, value: Any) -> Ping:
        (nonce,) = expect_list(value, 1, "ping")
        return cls(expect_int(nonce, "ping nonce"))


@dataclass(frozen=True, slots=True)
class Pong:
    TYPE: ClassVar[MessageType] = MessageType.PONG
    nonce: int

    def to_wire(self) -> list[Any]:
        return [self.nonce]

    @classmethod
    def from_wire(cls, value: Any) -> Pong:
        (nonce,) = expect_list(value, 1, "pong")
        return cls(expect_int(nonce, "pong nonce"))


@dataclass(frozen=True, slots=True)
class Document:
    """A document of a credit request (F10), named by the blake2b-256 hash of ``content``."""

    TYPE: ClassVar[MessageType] = MessageType.DOCUMENT
    content: bytes

    def to_wire(self) -> list[Any]:
        return [self.content]

    @classmethod
    def from_wire(cls, value: Any) -> Document:
        (content,) = expect_list(value, 1, "document")
        content = expect_bytes(content, "document content")
        if len(content) > MAX_DOCUMENT_BYTES:
            raise MessageError(f"document: {len(content)} bytes exceeds {MAX_DOCUMENT_BYTES}")
        return cls(content)


@dataclass(frozen=True, slots=True)
class DocumentRequest:
    """Ask a peer for the documents it has among ``hashes`` (answered by Document messages)."""

    TYPE: ClassVar[MessageType] = MessageType.DOCUMENT_REQUEST
    hashes: tuple[bytes, ...]

    def to_wire(self) -> list[Any]:
        return list(self.hashes)

    @classmethod
    def from_wire(cls, value: Any) -> DocumentRequest:
        if not isinstance(value, list) or not 0 < len(value) <= MAX_DOCUMENTS_PER_REQUEST:
            raise MessageError(f"document request: expected 1..{MAX_DOCUMENTS_PER_REQUEST} hashes")
        return cls(tuple(expect_bytes(h, "document request hash", HASH_LEN) for h in value))


Message = (
    Status
    | Proposal
    | Vote
    | Extrinsics
    | BlockRequest
    | BlockResponse
    | Have
    | Ping
    | Pong
    | Document
    | DocumentRequest
)

_CLASSES: Final[dict[MessageType, Any]] = {
    MessageType.STATUS: Status,
    MessageType.PROPOSAL: Proposal,
    MessageType.VOTE: Vote,
    MessageType.EXTRINSICS: Extrinsics,
    MessageType.BLOCK_REQUEST: BlockRequest,
    MessageType.BLOCK_RESPONSE: BlockResponse,
    MessageType.HAVE: Have,
    MessageType.PING: Ping,
    MessageType.PONG: Pong,
    MessageType.DOCUMENT: Document,
    MessageType.DOCUMENT_REQUEST: DocumentRequest,
}

_SMALL: Final = DecodeLimits(max_size=512, max_depth=4, max_container_len=16, max_bytes_len=64)

# Maximum frame body per type, and the codec limits its body is decoded with.
MAX_BODY: Final[dict[MessageType, int]] = {
    MessageType.STATUS: 128,
    MessageType.PROPOSAL: MAX_BLOCK_BYTES + 512,
    MessageType.VOTE: 256,
    MessageType.EXTRINSICS: MAX_EXTRINSICS_BATCH_BYTES,
    MessageType.BLOCK_REQUEST: 64,
    MessageType.BLOCK_RESPONSE: MAX_BLOCK_RESPONSE_BYTES,
    MessageType.HAVE: MAX_HAVE_HASHES * (HASH_LEN + 2) + 8,
    MessageType.PING: 16,
    MessageType.PONG: 16,
    MessageType.DOCUMENT: MAX_DOCUMENT_BYTES + 16,
    MessageType.DOCUMENT_REQUEST: MAX_DOCUMENTS_PER_REQUEST * (HASH_LEN + 2) + 8,
}
_LIMITS: Final[dict[MessageType, DecodeLimits]] = {
    MessageType.STATUS: _SMALL,
    MessageType.PROPOSAL: DecodeLimits(
        max_size=MAX_BODY[MessageType.PROPOSAL],
        max_depth=3,
        max_container_len=8,
        max_bytes_len=MAX_BLOCK_BYTES,
    ),
    MessageType.VOTE: _SMALL,
    MessageType.EXTRINSICS: DecodeLimits(
        max_size=MAX_EXTRINSICS_BATCH_BYTES,
        max_depth=2,
        max_container_len=MAX_EXTRINSICS_PER_BATCH,
        max_bytes_len=MAX_EXTRINSIC_BYTES,
    ),
    MessageType.BLOCK_REQUEST: _SMALL,
    MessageType.BLOCK_RESPONSE: DecodeLimits(
        max_size=MAX_BLOCK_RESPONSE_BYTES,
        max_depth=4,
        max_container_len=MAX_BLOCKS_PER_REQUEST,
        max_bytes_len=MAX_BLOCK_BYTES,
    ),
    MessageType.HAVE: DecodeLimits(
        max_size=MAX_BODY[MessageType.HAVE],
        max_depth=2,
        max_container_len=MAX_HAVE_HASHES,
        max_bytes_len=HASH_LEN,
    ),
    MessageType.PING: _SMALL,
    MessageType.PONG: _SMALL,
    MessageType.DOCUMENT: DecodeLimits(
        max_size=MAX_BODY[MessageType.DOCUMENT],
        max_depth=2,
        max_container_len=1,
        max_bytes_len=MAX_DOCUMENT_BYTES,
    ),
    MessageType.DOCUMENT_REQUEST: DecodeLimits(
        max_size=MAX_BODY[MessageType.DOCUMENT_REQUEST],
        max_depth=2,
        max_container_len=MAX_DOCUMENTS_PER_REQUEST,
        max_bytes_len=HASH_LEN,
    ),
}


def encode_body(message: Message) -> bytes:
    """The canonical body bytes of ``message`` (without the frame header)."""
    if isinstance(message, Extrinsics):
        # An array of bytes holds no map: packed as it is, without the validation
        # walk over up to MAX_EXTRINSICS_PER_BATCH items (issue 23's gossip profile).
        body = codec.encode_ordered(message.to_wire())
    else:
        body = codec.encode(message.to_wire())
    limit = MAX_BODY[message.TYPE]
    if len(body) > limit:
        raise ValueError(f"{message.TYPE.name} body of {len(body)} bytes exceeds {limit}")
    return body


def decode_body(type_id: int, body: bytes) -> Message:
    """Decode a frame body; raises ``MessageError`` (a peer fault) on anything wrong."""
    try:
        message_type = MessageType(type_id)
    except ValueError:
        raise MessageError(f"unknown message type {type_id}") from None
    try:
        value = codec.decode(body, _LIMITS[message_type])
        message: Message = _CLASSES[message_type].from_wire(value)
    except MessageError:
        raise
    except (DecodeError, ValueError) as exc:
        raise MessageError(f"{message_type.name}: {exc}") from exc
    return message


def gossip_key(message_type: MessageType, body: bytes) -> bytes:
    """``H(type || body)``: the dedup key of a proposal or vote message."""
    return blake2b256(bytes([message_type]) + body)


def document_key(content: bytes) -> bytes:
    """The document hash (blake2b-256 of its bytes), also its gossip key."""
    return blake2b256(content)


def extrinsic_key(extrinsic: bytes) -> bytes:
    """The extrinsic hash (spec/wire.md §4), also its gossip key."""
    return blake2b256(extrinsic)
