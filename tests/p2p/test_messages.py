"""Message records: round trips, refusals naming the field, dedup keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import codec
from ledger.crypto import blake2b256
from ledger.types import Proposal as LedgerProposal
from ledger.types import Vote as LedgerVote
from ledger.types import VoteType
from p2p.messages import (
    MAX_BLOCKS_PER_REQUEST,
    MAX_BODY,
    MAX_EXTRINSICS_PER_BATCH,
    BlockRequest,
    BlockResponse,
    Extrinsics,
    Have,
    Message,
    MessageError,
    MessageType,
    Ping,
    Pong,
    Proposal,
    Status,
    Vote,
    decode_body,
    encode_body,
    extrinsic_key,
    gossip_key,
)
from tests.p2p.helpers import GENESIS, KEYS

VOTE = LedgerVote.create(KEYS[0], GENESIS, VoteType.PRECOMMIT, 7, 1, blake2b256(b"b"), 1234)
NIL_VOTE = LedgerVote.create(KEYS[1], GENESIS, VoteType.PREVOTE, 7, 0, None, 99)
PROPOSAL = LedgerProposal(3, 0, -1, blake2b256(b"block"), KEYS[0].public, bytes(64))

SAMPLES: list[Message] = [
    Status(10, 2, blake2b256(b"best"), GENESIS),
    Proposal(PROPOSAL, b"\x94" + b"block bytes"),
    Vote(VOTE),
    Vote(NIL_VOTE),
    Extrinsics((b"\x96tx1", b"\x96tx2")),
    BlockRequest(5, 100, MAX_BLOCKS_PER_REQUEST),
    BlockResponse(5, ((b"block", b"commit"), (b"b2", b"c2"))),
    BlockResponse(6, ()),
    Have((blake2b256(b"x"), blake2b256(b"y"))),
    Ping(1),
    Pong(2**63),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: Message) -> None:
    body = encode_body(message)
    assert len(body) <= MAX_BODY[message.TYPE]
    assert decode_body(message.TYPE, body) == message


def test_unknown_type_is_refused() -> None:
    with pytest.raises(MessageError, match="unknown message type 99"):
        decode_body(99, codec.encode([1]))


@pytest.mark.parametrize(
    ("message_type", "wire", "match"),
    [
        (MessageType.STATUS, [1, 0, b"short", GENESIS], "status best_hash"),
        (MessageType.STATUS, [-1, 0, GENESIS, GENESIS], "status height"),
        (MessageType.VOTE, [3, 1, 0, None, 0, KEYS[0].public, bytes(64)], "vote type"),
        (MessageType.EXTRINSICS, [], "non-empty"),
        (MessageType.EXTRINSICS, [b""], "extrinsics item"),
        (MessageType.EXTRINSICS, ["text"], "extrinsics item"),
        (MessageType.BLOCK_REQUEST, [1, 0, 0], "count"),
        (MessageType.BLOCK_REQUEST, [1, 0, MAX_BLOCKS_PER_REQUEST + 1], "count"),
        (MessageType.BLOCK_RESPONSE, [1, [[b"b"]]], "block response entry"),
        (MessageType.HAVE, [b"x" * 31], "have hash"),
        (MessageType.PROPOSAL, [[1, 0, -2, GENESIS, GENESIS, bytes(64)], b"b"], "pol_round"),
    ],
)
def test_bad_fields_are_refused_by_name(
    message_type: MessageType, wire: object, match: str
) -> None:
    with pytest.raises(MessageError, match=match):
        decode_body(message_type, codec.encode(wire))


def test_non_canonical_body_is_refused() -> None:
    # the height 1 written as a uint16 instead of a positive fixint
    body = b"\x94\xcd\x00\x01\x00\xc4\x20" + GENESIS + b"\xc4\x20" + GENESIS
    with pytest.raises(MessageError, match="not canonical"):
        decode_body(MessageType.STATUS, body)


def test_too_many_extrinsics_in_a_batch_are_refused() -> None:
    with pytest.raises(MessageError, match="EXTRINSICS: array of 4097 entries"):
        decode_body(MessageType.EXTRINSICS, codec.encode([b"x"] * (MAX_EXTRINSICS_PER_BATCH + 1)))


def test_encoding_a_message_above_its_limit_is_local_misuse() -> None:
    with pytest.raises(ValueError, match="EXTRINSICS body"):
        encode_body(Extrinsics(tuple(b"x" * 60_000 for _ in range(100))))


@given(st.binary(min_size=1, max_size=64))
def test_extrinsic_key_is_the_extrinsic_hash(extrinsic: bytes) -> None:
    assert extrinsic_key(extrinsic) == blake2b256(extrinsic)


def test_gossip_key_distinguishes_tampered_copies() -> None:
    body = encode_body(Vote(VOTE))
    other = encode_body(Vote(NIL_VOTE))
    assert gossip_key(MessageType.VOTE, body) != gossip_key(MessageType.VOTE, other)
    assert gossip_key(MessageType.VOTE, body) != gossip_key(MessageType.PROPOSAL, body)
