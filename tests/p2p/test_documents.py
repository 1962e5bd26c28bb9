"""The Document message (F10): a bounded record, keyed by its hash, gossiped once."""

from __future__ import annotations

import pytest
import trio

from ledger import codec
from ledger.crypto import blake2b256
from p2p.messages import (
    MAX_BODY,
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS_PER_REQUEST,
    Document,
    DocumentRequest,
    Message,
    MessageError,
    MessageType,
    decode_body,
    document_key,
    encode_body,
)
from p2p.service import P2PService
from tests.p2p.helpers import KEYS, connect, make_service, start, wait_until

ALICE, BOB, CAROL = KEYS[:3]


def test_a_document_round_trips_and_its_key_is_its_hash() -> None:
    message = Document(b"sales at three fairs")
    body = encode_body(message)
    assert decode_body(MessageType.DOCUMENT, body) == message
    assert document_key(message.content) == blake2b256(b"sales at three fairs")
    largest = Document(b"x" * MAX_DOCUMENT_BYTES)
    assert len(encode_body(largest)) <= MAX_BODY[MessageType.DOCUMENT]


def test_an_oversized_or_malformed_document_is_refused() -> None:
    too_big = codec.encode([b"x" * (MAX_DOCUMENT_BYTES + 1)])
    with pytest.raises(MessageError, match="DOCUMENT"):
        decode_body(MessageType.DOCUMENT, too_big)
    with pytest.raises(MessageError, match="document content"):
        decode_body(MessageType.DOCUMENT, codec.encode(["text"]))
    with pytest.raises(MessageError, match="DOCUMENT: array of 2"):
        decode_body(MessageType.DOCUMENT, codec.encode([b"a", b"b"]))
    with pytest.raises(ValueError, match="exceeds"):
        encode_body(Document(b"x" * (MAX_DOCUMENT_BYTES + 16)))


def test_a_document_request_names_1_to_64_hashes() -> None:
    request = DocumentRequest(
        tuple(blake2b256(bytes([i])) for i in range(MAX_DOCUMENTS_PER_REQUEST))
    )
    body = encode_body(request)
    assert decode_body(MessageType.DOCUMENT_REQUEST, body) == request
    with pytest.raises(MessageError, match=r"1\.\.64 hashes"):
        decode_body(MessageType.DOCUMENT_REQUEST, codec.encode([]))
    with pytest.raises(MessageError, match="document request hash"):
        decode_body(MessageType.DOCUMENT_REQUEST, codec.encode([b"short"]))
    too_many = codec.encode([bytes(32)] * (MAX_DOCUMENTS_PER_REQUEST + 1))
    with pytest.raises(MessageError):
        decode_body(MessageType.DOCUMENT_REQUEST, too_many)


async def _collect(service: P2PService, into: list[tuple[bytes, Message]]) -> None:
    async for peer, message in service.inbound:
        into.append((peer, message))
        if isinstance(message, Document):
            service.broadcast(message)  # the node relays what it stored


async def test_a_document_crosses_a_chain_of_peers_once_each() -> None:
    alice, bob, carol = make_service(ALICE), make_service(BOB), make_service(CAROL)
    got: dict[bytes, list[tuple[bytes, Message]]] = {k.public: [] for k in (ALICE, BOB, CAROL)}
    doc = Document(b"why the borrowers can be trusted")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, bob, carol)
            for service, key in ((alice, ALICE), (bob, BOB), (carol, CAROL)):
                nursery.start_soon(_collect, service, got[key.public])
            await connect(bob, alice, carol)  # alice - bob - carol
            assert alice.broadcast(doc) == 1
            assert alice.broadcast(doc) == 0  # bob has it: never sent twice
            await wait_until(lambda: len(got[CAROL.public]) == 1)
            assert got[BOB.public] == [(ALICE.public, doc)]
            assert got[CAROL.public] == [(BOB.public, doc)]
            # every peer has it from where it came: a relay sends it nowhere again
            assert (bob.broadcast(doc), carol.broadcast(doc)) == (0, 0)
            assert got[ALICE.public] == []
            nursery.cancel_scope.cancel()
