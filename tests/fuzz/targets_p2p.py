"""Fuzz targets of the peer protocol: frames and messages, and the handshake.

Theory of operation
-------------------
``p2p_frames`` is what a connected peer controls after the handshake: the
decrypted byte stream, cut by ``FrameDecoder`` (fed in two chunks, split
where the input's first byte says, so headers and bodies straddle reads) and
each frame body decoded by ``decode_body``. The input's second byte chooses
whether the stream goes through ``RecordDecoder`` first (the Noise record
layer). Declared errors: ``FrameError`` and ``MessageError``.

``p2p_handshake`` is what an unauthenticated stranger controls. The first
byte picks the message the input replaces in an otherwise honest Noise XX
exchange: 0 the initiator's first message, 1 the responder's second (read by
an initiator), 2 the initiator's third (read by a responder), 3 the clear
hello payload inside a well-formed first message, 4 the encrypted identity
proof inside a well-formed third message. The honest sides use fixed static
and ephemeral keys, so the valid transcript is the same in every run and the
seeds (that transcript) mutate into near-misses. The declared error is
``HandshakeError``, whose ``reason`` must be one of the documented codes.
"""

from __future__ import annotations

import functools
from typing import Any

from noise.backends.default.keypairs import KeyPair25519

from ledger.crypto import Keypair, blake2b256
from p2p.framing import FrameDecoder, FrameError, RecordDecoder, encode_frame, encode_record
from p2p.handshake import (
    Handshake,
    HandshakeError,
    HandshakeResult,
    StaticKey,
    hello_payload,
    identity_payload,
)
from p2p.limits import SeenSet
from p2p.messages import (
    MAX_BODY,
    Extrinsics,
    Have,
    Message,
    MessageError,
    MessageType,
    Ping,
    Status,
    decode_body,
    encode_body,
)
from tests.fuzz.harness import Target
from tests.p2p.helpers import GENESIS, RawInitiator

INITIATOR_ID = Keypair.dev("alice")
RESPONDER_ID = Keypair.dev("bob")
PAYLOAD_ROOM = 65535 - 32 - 32 - 16 - 16  # a Noise message less keys and tags
HANDSHAKE_REASONS = frozenset(
    {
        "malformed",
        "decrypt",
        "version",
        "genesis",
        "replay",
        "low_order_key",
        "bad_signature",
        "self",
        "unexpected_identity",
    }
)


def _fixed(label: bytes) -> bytes:
    return blake2b256(b"credichain fuzz key/" + label)


# ---------------------------------------------------------------- frames


def max_body(type_id: int) -> int | None:
    try:
        return MAX_BODY[MessageType(type_id)]
    except ValueError:
        return None


def _parse_frames(data: bytes) -> list[Message]:
    split = data[0] % (len(data) + 1) if data else 0
    stream = data[2:] if len(data) >= 2 else b""
    if len(data) >= 2 and data[1] & 1:  # through the record layer first
        records = RecordDecoder()
        stream = b"".join(records.feed(stream[:split]) + records.feed(stream[split:]))
    frames = FrameDecoder(max_body)
    cut = frames.feed(stream[:split]) + frames.feed(stream[split:])
    return [decode_body(frame.type_id, frame.body) for frame in cut]


def _frames_accepted(_data: bytes, messages: list[Message]) -> None:
    for message in messages:  # what decoded encodes back (canonical bodies)
        assert decode_body(message.TYPE, encode_body(message)) == message


def _frame_seeds() -> list[bytes]:
    messages: list[Message] = [
        Status(5, 0, bytes(32), GENESIS),
        Ping(7),
        Have((bytes(32), bytes(range(32)))),
        Extrinsics((b"\x96\x01",)),
    ]
    stream = b"".join(encode_frame(m.TYPE, encode_body(m)) for m in messages)
    return [b"\x05\x00" + stream, b"\x09\x01" + encode_record(stream)]


P2P_FRAMES = Target(
    name="p2p_frames",
    doc="FrameDecoder (optionally behind RecordDecoder) then decode_body of every frame",
    parse=_parse_frames,
    refusals=(FrameError, MessageError),
    seeds=_frame_seeds,
    accepted=_frames_accepted,
)


# ---------------------------------------------------------------- handshake


def _pin_ephemeral(handshake: Handshake, label: bytes) -> None:
    # Test-only: a fixed ephemeral key makes the honest transcript reproducible.
    keypair = KeyPair25519.from_private_bytes(_fixed(label))
    handshake._noise.noise_protocol.handshake_state.e = keypair


def honest(initiator: bool, replay_guard: SeenSet | None = None) -> Handshake:
    side = b"initiator" if initiator else b"responder"
    handshake = Handshake(
        initiator=initiator,
        identity=INITIATOR_ID if initiator else RESPONDER_ID,
        static=_static(side),
        genesis_hash=GENESIS,
        check_peer=lambda _identity: None,
        replay_guard=replay_guard,
    )
    _pin_ephemeral(handshake, side + b"/e")
    return handshake


@functools.cache
def _static(side: bytes) -> StaticKey:
    return StaticKey.from_private(_fixed(side + b"/s"))


@functools.cache
def transcript() -> tuple[bytes, bytes, bytes]:
    """The three messages of the honest, reproducible exchange."""
    initiator, responder = honest(True), honest(False)
    first = initiator.start()
    second = responder.receive(first)
    assert second is not None
    third = initiator.receive(second)
    assert third is not None and responder.receive(third) is None
    return first, second, third


def _raw_third(payload: bytes) -> tuple[Handshake, bytes]:
    """A responder that got an honest first message, and a third message carrying ``payload``."""
    responder = honest(False, SeenSet(4))
    raw = RawInitiator()
    second = responder.receive(raw.first())
    assert second is not None
    raw.read_second(second)
    return responder, raw.third(payload)


def _parse_handshake(data: bytes) -> HandshakeResult | bytes | None:
    stage, message = (data[0] % 5, data[1:]) if data else (0, b"")
    if stage == 0:
        return honest(False, SeenSet(4)).receive(message)
    if stage == 1:
        initiator = honest(True)
        initiator.start()
        initiator.receive(message)
        return initiator.result
    if stage == 2:
        responder = honest(False, SeenSet(4))
        responder.receive(transcript()[0])
        responder.receive(message)
        return responder.result
    # Payloads are wrapped by an honest Noise layer, which caps their size.
    payload = message[:PAYLOAD_ROOM]
    if stage == 3:
        return honest(False, SeenSet(4)).receive(RawInitiator().first(payload))
    responder, third = _raw_third(payload)
    responder.receive(third)
    return responder.result


def _handshake_accepted(data: bytes, outcome: Any) -> None:
    stage = data[0] % 5 if data else 0
    if stage in (1, 2, 4):
        assert isinstance(outcome, HandshakeResult), "a finished handshake has a result"
        assert outcome.peer_identity in (INITIATOR_ID.public, RESPONDER_ID.public)
    if stage == 4:  # only alice can prove alice's identity
        assert outcome.peer_identity == INITIATOR_ID.public


def _explain_handshake(exc: BaseException) -> str | None:
    assert isinstance(exc, HandshakeError)
    if exc.reason not in HANDSHAKE_REASONS:
        return f"undocumented refusal reason {exc.reason!r}"
    return None


def _handshake_seeds() -> list[bytes]:
    first, second, third = transcript()
    raw = RawInitiator()
    responder = honest(False)
    second_raw = responder.receive(raw.first())
    assert second_raw is not None
    raw.read_second(second_raw)
    # Bound to this RawInitiator's session: in a new session it is a well-formed
    # proof that fails verification, the near-miss worth mutating.
    proof = identity_payload(INITIATOR_ID, b"I", GENESIS, raw.static.public, raw.h())
    return [
        b"\x00" + first,
        b"\x01" + second,
        b"\x02" + third,
        b"\x03" + hello_payload(GENESIS),
        b"\x04" + proof,
    ]


P2P_HANDSHAKE = Target(
    name="p2p_handshake",
    doc="Noise XX + identity proofs: each of the three messages, the hello and the proof payload",
    parse=_parse_handshake,
    refusals=(HandshakeError,),
    seeds=_handshake_seeds,
    accepted=_handshake_accepted,
    explains=_explain_handshake,
)
