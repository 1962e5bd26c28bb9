"""Handshake attacks on Ed25519 identities, beyond those of test_handshake/test_service.

test_handshake.py and test_service.py already refuse an unknown key
(``not_allowed``), another chain (``genesis``), a replayed first message
(``replay``), a replayed session, forged and reflected proofs and low-order
*X25519* keys. What is left is the identity key itself: a proof made with a
small-order Ed25519 point as identity (where ``R = A`` and ``S = 0``
satisfies the verification equation for every message under lax rules), and
a malleated copy of a genuine proof (``S + L``). Both must fail as a bad
signature, on either side of the handshake, in the sans-I/O machine and on
a listening service, and the claimed identity must never become a peer.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
from noise.connection import Keypair as NoiseKeypair
from noise.connection import NoiseConnection

from ledger import codec
from p2p.handshake import (
    PROLOGUE,
    PROTOCOL_NAME,
    Handshake,
    HandshakeError,
    StaticKey,
    identity_payload,
)
from p2p.limits import SeenSet
from tests.fuzz.strategies import SMALL_ORDER_ED25519
from tests.p2p.helpers import GENESIS, KEYS, RawInitiator, make_service, raw_third_answer

ALICE, BOB = KEYS[0], KEYS[1]
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493


def allow_everyone(_identity: bytes) -> str | None:
    return None


def machine(initiator: bool) -> Handshake:
    return Handshake(
        initiator=initiator,
        identity=ALICE if initiator else BOB,
        static=StaticKey.generate(),
        genesis_hash=GENESIS,
        check_peer=allow_everyone,  # the allowlist must not be what saves us here
        replay_guard=None if initiator else SeenSet(16),
    )


def small_order_proof(point: bytes) -> bytes:
    return codec.encode([point, point + bytes(32)])


def malleated(proof: bytes) -> bytes:
    identity, signature = codec.decode(proof)
    s = int.from_bytes(signature[32:], "little") + GROUP_ORDER
    return codec.encode([identity, signature[:32] + s.to_bytes(32, "little")])


class RawResponder:
    """A hand-driven Noise XX responder that can send any identity proof."""

    def __init__(self) -> None:
        self.static = StaticKey.generate()
        noise = NoiseConnection.from_name(PROTOCOL_NAME)
        noise.set_prologue(PROLOGUE)
        noise.set_keypair_from_private_bytes(NoiseKeypair.STATIC, self.static.private)
        noise.set_as_responder()
        noise.start_handshake()
        self.noise = noise

    def second(self, first: bytes, proof: bytes) -> bytes:
        self.noise.read_message(first)
        return bytes(self.noise.write_message(proof))

    def h(self) -> bytes:
        return bytes(self.noise.noise_protocol.symmetric_state.h)


def refusal_of_third(proof_for: Callable[[RawInitiator, bytes], bytes]) -> HandshakeError:
    """Send ``proof_for(raw, h)`` as the initiator's proof; the responder's refusal."""
    responder = machine(initiator=False)
    raw = RawInitiator()
    second = responder.receive(raw.first())
    assert second is not None
    raw.read_second(second)
    proof = proof_for(raw, raw.h())
    with pytest.raises(HandshakeError) as refused:
        responder.receive(raw.third(proof))
    assert responder.result is None
    return refused.value


@pytest.mark.parametrize("point", SMALL_ORDER_ED25519, ids=lambda p: p.hex()[:8])
def test_a_small_order_identity_cannot_prove_itself_to_a_responder(point: bytes) -> None:
    error = refusal_of_third(lambda _raw, _h: small_order_proof(point))
    assert error.reason == "bad_signature" and "did not sign" in str(error)


@pytest.mark.parametrize("point", SMALL_ORDER_ED25519, ids=lambda p: p.hex()[:8])
def test_a_small_order_identity_cannot_prove_itself_to_an_initiator(point: bytes) -> None:
    initiator = machine(initiator=True)
    second = RawResponder().second(initiator.start(), small_order_proof(point))
    with pytest.raises(HandshakeError) as refused:
        initiator.receive(second)
    assert refused.value.reason == "bad_signature"
    assert initiator.result is None


def test_a_malleated_copy_of_a_genuine_initiator_proof_is_refused() -> None:
    def proof(raw: RawInitiator, h: bytes) -> bytes:
        return malleated(identity_payload(ALICE, b"I", GENESIS, raw.static.public, h))

    assert refusal_of_third(proof).reason == "bad_signature"


def test_a_malleated_copy_of_a_genuine_responder_proof_is_refused() -> None:
    initiator = machine(initiator=True)
    first = initiator.start()
    raw = RawResponder()
    raw.noise.read_message(first)
    # The responder's proof covers h as it stands before message 2 is written.
    genuine = identity_payload(BOB, b"R", GENESIS, raw.static.public, raw.h())
    second = bytes(raw.noise.write_message(malleated(genuine)))
    with pytest.raises(HandshakeError) as refused:
        initiator.receive(second)
    assert refused.value.reason == "bad_signature"


def test_the_unmalleated_proofs_above_would_be_accepted() -> None:
    """Control: the malleated proofs differ from accepted ones only in S."""
    initiator = machine(initiator=True)
    raw = RawResponder()
    first = initiator.start()
    raw.noise.read_message(first)
    genuine = identity_payload(BOB, b"R", GENESIS, raw.static.public, raw.h())
    assert initiator.receive(bytes(raw.noise.write_message(genuine))) is not None
    assert initiator.result is not None and initiator.result.peer_identity == BOB.public


async def test_a_listening_node_refuses_a_small_order_identity_and_never_peers_it() -> None:
    point = SMALL_ORDER_ED25519[0]  # the identity point: every message "verifies" laxly
    alice = make_service(ALICE, allowed=[*KEYS])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(alice.run)
            answer = await raw_third_answer(alice.listen_port, lambda _: small_order_proof(point))
            assert answer is None  # closed on us
            with trio.fail_after(5):
                while alice.stats.handshake_failures["bad_signature"] < 1:
                    await trio.sleep(0.01)
            assert not alice.peers and alice.stats.handshakes_ok == 0
            nursery.cancel_scope.cancel()
