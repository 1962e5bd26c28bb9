"""The identity-bound Noise XX handshake, sans I/O: two machines joined by hand."""

from __future__ import annotations

import os

import pytest

from ledger import codec
from ledger.crypto import Keypair
from p2p.handshake import (
    _LOW_ORDER,
    P2P_VERSION,
    CheckPeer,
    Handshake,
    HandshakeError,
    StaticKey,
    hello_payload,
    identity_payload,
    identity_sign_bytes,
    is_low_order_x25519,
)
from p2p.limits import SeenSet
from tests.p2p.helpers import GENESIS, KEYS, MALLORY, OTHER_GENESIS, RawInitiator

ALICE, BOB = KEYS[0], KEYS[1]


def accept(_identity: bytes) -> str | None:
    return None


def machine(
    key: Keypair,
    *,
    initiator: bool,
    genesis: bytes = GENESIS,
    check_peer: CheckPeer = accept,
    guard: SeenSet | None = None,
    expected: bytes | None = None,
) -> Handshake:
    return Handshake(
        initiator=initiator,
        identity=key,
        static=StaticKey.generate(),
        genesis_hash=genesis,
        check_peer=check_peer,
        replay_guard=guard,
        expected_identity=expected,
    )


def refusal(excinfo: pytest.ExceptionInfo[HandshakeError]) -> str:
    return excinfo.value.reason


def test_both_sides_learn_the_other_identity_and_share_a_session() -> None:
    initiator = machine(ALICE, initiator=True, expected=BOB.public)
    responder = machine(BOB, initiator=False, guard=SeenSet(8))
    second = responder.receive(initiator.start())
    assert second is not None
    third = initiator.receive(second)
    assert third is not None
    assert responder.receive(third) is None
    assert initiator.result is not None and responder.result is not None
    assert initiator.result.peer_identity == BOB.public
    assert responder.result.peer_identity == ALICE.public
    assert initiator.result.peer_static == responder.static.public
    assert responder.result.peer_static == initiator.static.public
    assert initiator.result.handshake_hash == responder.result.handshake_hash
    ciphertext = initiator.result.noise.encrypt(b"ping")
    assert responder.result.noise.decrypt(ciphertext) == b"ping"


def test_responder_refuses_an_identity_not_on_its_allowlist() -> None:
    initiator = machine(MALLORY, initiator=True)
    responder = machine(BOB, initiator=False, check_peer=lambda i: "not_allowed")
    third = initiator.receive(responder.receive(initiator.start()) or b"")
    with pytest.raises(HandshakeError) as excinfo:
        responder.receive(third or b"")
    assert refusal(excinfo) == "not_allowed"
    assert responder.result is None


def test_initiator_refuses_a_responder_not_on_its_allowlist() -> None:
    initiator = machine(ALICE, initiator=True, check_peer=lambda i: "not_allowed")
    responder = machine(MALLORY, initiator=False)
    with pytest.raises(HandshakeError) as excinfo:
        initiator.receive(responder.receive(initiator.start()) or b"")
    assert refusal(excinfo) == "not_allowed"


def test_initiator_refuses_an_identity_other_than_the_one_dialled() -> None:
    initiator = machine(ALICE, initiator=True, expected=BOB.public)
    responder = machine(MALLORY, initiator=False)
    with pytest.raises(HandshakeError) as excinfo:
        initiator.receive(responder.receive(initiator.start()) or b"")
    assert refusal(excinfo) == "unexpected_identity"


def test_connecting_to_ourselves_is_refused() -> None:
    initiator = machine(ALICE, initiator=True)
    responder = machine(ALICE, initiator=False)
    with pytest.raises(HandshakeError) as excinfo:
        initiator.receive(responder.receive(initiator.start()) or b"")
    assert refusal(excinfo) == "self"


def test_another_chains_genesis_is_refused_at_the_first_message() -> None:
    initiator = machine(ALICE, initiator=True, genesis=OTHER_GENESIS)
    responder = machine(BOB, initiator=False)
    with pytest.raises(HandshakeError, match="on chain") as excinfo:
        responder.receive(initiator.start())
    assert refusal(excinfo) == "genesis"


def test_another_protocol_version_is_refused() -> None:
    raw = RawInitiator()
    responder = machine(BOB, initiator=False)
    with pytest.raises(HandshakeError) as excinfo:
        responder.receive(raw.first(hello_payload(GENESIS, version=P2P_VERSION + 1)))
    assert refusal(excinfo) == "version"


def _raw_to_third(responder: Handshake, raw: RawInitiator) -> bytes:
    second = responder.receive(raw.first())
    assert second is not None
    raw.read_second(second)
    return raw.h()


@pytest.mark.parametrize(
    "forgery",
    [
        "wrong_h",  # a proof recorded in another session
        "wrong_static",  # a proof for another Noise key
        "wrong_genesis",  # a proof made for another chain
        "wrong_role",  # the responder's kind of proof, reflected
        "wrong_signer",  # mallory's signature under alice's name
        "garbage_signature",
    ],
)
def test_bad_identity_signatures_are_refused(forgery: str) -> None:
    responder = machine(BOB, initiator=False)
    raw = RawInitiator()
    h = _raw_to_third(responder, raw)
    role, genesis, static = b"I", GENESIS, raw.static.public
    if forgery == "wrong_h":
        h = os.urandom(len(h))
    elif forgery == "wrong_static":
        static = StaticKey.generate().public
    elif forgery == "wrong_genesis":
        genesis = OTHER_GENESIS
    elif forgery == "wrong_role":
        role = b"R"
    if forgery == "wrong_signer":
        signature = MALLORY.sign(identity_sign_bytes(role, genesis, static, h))
        payload = codec.encode([ALICE.public, signature])
    elif forgery == "garbage_signature":
        payload = codec.encode([ALICE.public, os.urandom(64)])
    else:
        payload = identity_payload(ALICE, role, genesis, static, h)
    with pytest.raises(HandshakeError) as excinfo:
        responder.receive(raw.third(payload))
    assert refusal(excinfo) == "bad_signature"
    assert responder.result is None


def test_a_correct_raw_proof_is_accepted() -> None:
    """The forgery tests above differ from this one in exactly one field."""
    responder = machine(BOB, initiator=False)
    raw = RawInitiator()
    h = _raw_to_third(responder, raw)
    responder.receive(raw.third(identity_payload(ALICE, b"I", GENESIS, raw.static.public, h)))
    assert responder.result is not None
    assert responder.result.peer_identity == ALICE.public


def test_malformed_identity_proof_is_refused() -> None:
    responder = machine(BOB, initiator=False)
    raw = RawInitiator()
    _raw_to_third(responder, raw)
    with pytest.raises(HandshakeError) as excinfo:
        responder.receive(raw.third(b"\x92\x01\x02"))
    assert refusal(excinfo) == "malformed"


@pytest.mark.parametrize("message", [b"", b"\x01" * 10, os.urandom(32) + b"\xc1garbage"])
def test_garbage_first_messages_are_refused(message: bytes) -> None:
    responder = machine(BOB, initiator=False)
    with pytest.raises(HandshakeError) as excinfo:
        responder.receive(message)
    assert refusal(excinfo) in {"malformed", "low_order_key"}


def test_garbage_third_message_fails_authentication() -> None:
    responder = machine(BOB, initiator=False)
    raw = RawInitiator()
    _raw_to_third(responder, raw)
    with pytest.raises(HandshakeError) as excinfo:
        responder.receive(os.urandom(120))
    assert refusal(excinfo) == "decrypt"


def test_garbage_second_message_fails_authentication() -> None:
    initiator = machine(ALICE, initiator=True)
    initiator.start()
    with pytest.raises(HandshakeError) as excinfo:
        initiator.receive(StaticKey.generate().public + os.urandom(100))
    assert refusal(excinfo) == "decrypt"


@pytest.mark.parametrize("key", sorted(_LOW_ORDER))
def test_low_order_ephemeral_keys_are_refused(key: bytes) -> None:
    for variant in (key, key[:31] + bytes([key[31] | 0x80])):
        responder = machine(BOB, initiator=False)
        with pytest.raises(HandshakeError) as excinfo:
            responder.receive(variant + hello_payload(GENESIS))
        assert refusal(excinfo) == "low_order_key"


def test_low_order_ephemeral_key_in_second_message_is_refused() -> None:
    initiator = machine(ALICE, initiator=True)
    initiator.start()
    with pytest.raises(HandshakeError) as excinfo:
        initiator.receive(bytes(32) + os.urandom(100))
    assert refusal(excinfo) == "low_order_key"


def test_low_order_static_key_is_refused() -> None:
    responder = machine(BOB, initiator=False)
    raw = RawInitiator(fake_static_public=bytes(32))
    h = _raw_to_third(responder, raw)
    with pytest.raises(HandshakeError) as excinfo:
        responder.receive(raw.third(identity_payload(ALICE, b"I", GENESIS, bytes(32), h)))
    assert refusal(excinfo) == "low_order_key"


def test_low_order_check_function() -> None:
    for key in _LOW_ORDER:
        assert is_low_order_x25519(key)
        assert is_low_order_x25519(key[:31] + bytes([key[31] | 0x80]))
    assert is_low_order_x25519(b"\x00" * 31)  # wrong length
    for _ in range(20):
        assert not is_low_order_x25519(StaticKey.generate().public)


def test_replayed_first_message_is_refused() -> None:
    guard = SeenSet(16)
    first = machine(ALICE, initiator=True).start()
    assert machine(BOB, initiator=False, guard=guard).receive(first) is not None
    with pytest.raises(HandshakeError, match="replayed") as excinfo:
        machine(BOB, initiator=False, guard=guard).receive(first)
    assert refusal(excinfo) == "replay"


def test_replayed_session_fails_even_without_the_guard() -> None:
    """A recorded first and third message do not fit a responder's fresh ephemeral key."""
    initiator = machine(ALICE, initiator=True)
    responder = machine(BOB, initiator=False)
    first = initiator.start()
    third = initiator.receive(responder.receive(first) or b"")
    assert third is not None
    replayed = machine(BOB, initiator=False)
    replayed.receive(first)
    with pytest.raises(HandshakeError) as excinfo:
        replayed.receive(third)
    assert refusal(excinfo) == "decrypt"


def test_misuse_of_the_machine_fails_loudly() -> None:
    with pytest.raises(ValueError, match="genesis hash"):
        machine(ALICE, initiator=True, genesis=b"short")
    responder = machine(BOB, initiator=False)
    with pytest.raises(RuntimeError, match="initiator"):
        responder.start()
    initiator = machine(ALICE, initiator=True)
    with pytest.raises(RuntimeError, match="start"):
        initiator.receive(b"x" * 40)
    with pytest.raises(ValueError, match="role"):
        identity_sign_bytes(b"X", GENESIS, bytes(32), bytes(32))
    assert "private" not in repr(StaticKey.generate())
