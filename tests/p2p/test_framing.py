"""The sans-I/O layers: records, frames, the secure channel, message bodies."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from p2p.channel import SecureChannel
from p2p.framing import (
    FRAME_HEADER,
    MAX_RECORD_PLAINTEXT,
    NOISE_MAX_MESSAGE,
    Frame,
    FrameDecoder,
    FrameError,
    FrameTooLarge,
    RecordDecoder,
    encode_frame,
    encode_record,
)
from p2p.handshake import Handshake, StaticKey
from p2p.messages import MAX_BODY, MessageError, MessageType, decode_body
from tests.p2p.helpers import GENESIS, KEYS, message_limits


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# ---------------------------------------------------------------- records


def test_record_round_trip_across_arbitrary_reads() -> None:
    messages = [b"a", b"b" * 300, b"c" * NOISE_MAX_MESSAGE]
    stream = b"".join(encode_record(m) for m in messages)
    decoder = RecordDecoder()
    got: list[bytes] = []
    for i in range(0, len(stream), 7777):
        got.extend(decoder.feed(stream[i : i + 7777]))
    assert got == messages
    assert decoder.buffered == 0


def test_record_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="Noise message"):
        encode_record(b"x" * (NOISE_MAX_MESSAGE + 1))
    with pytest.raises(ValueError, match="Noise message"):
        encode_record(b"")
    with pytest.raises(FrameError, match="shorter"):
        RecordDecoder(min_length=17).feed(b"\x00\x05hello")


# ---------------------------------------------------------------- frames


@given(
    frames=st.lists(
        st.tuples(st.sampled_from([1, 3, 4, 7]), st.binary(min_size=1, max_size=100)),
        max_size=20,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=10),
)
def test_frame_round_trip_whatever_the_chunking(
    frames: list[tuple[int, bytes]], cuts: list[int]
) -> None:
    stream = b"".join(encode_frame(t, b) for t, b in frames)
    decoder = FrameDecoder(lambda _t: 1000)
    got: list[Frame] = []
    for piece in chunks(stream, cuts):
        got.extend(decoder.feed(piece))
    assert [(f.type_id, f.body) for f in got] == frames
    assert decoder.buffered == 0


def test_oversized_frame_is_refused_from_its_header_alone() -> None:
    decoder = FrameDecoder(message_limits)
    header = bytes([MessageType.VOTE]) + (0xFFFFFFFF).to_bytes(4, "big")
    with pytest.raises(FrameTooLarge, match="announces 4294967295 bytes, limit 256"):
        decoder.feed(header)
    # nothing beyond the 5 header bytes was ever buffered
    assert decoder.buffered <= FRAME_HEADER


def test_oversized_frame_refused_even_when_body_follows() -> None:
    decoder = FrameDecoder(message_limits)
    frame = encode_frame(MessageType.STATUS, b"x" * (MAX_BODY[MessageType.STATUS] + 1))
    with pytest.raises(FrameTooLarge):
        decoder.feed(frame)


def test_unknown_type_and_empty_body_are_malformed() -> None:
    with pytest.raises(FrameError, match="unknown or unexpected frame type 200"):
        FrameDecoder(message_limits).feed(bytes([200, 0, 0, 0, 1, 0]))
    with pytest.raises(FrameError, match="empty frame body"):
        FrameDecoder(message_limits).feed(bytes([MessageType.VOTE, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="cannot be framed"):
        encode_frame(1, b"")


@settings(max_examples=300)
@given(st.binary(max_size=2000))
@example(b"\x03\x00\x00\x00\x01\xc1")  # a reserved msgpack byte in a vote body
@example(b"\x01\x00\x00\x00\x01\x90")  # an empty array as a status
def test_fuzzed_bytes_give_frames_or_clean_errors(data: bytes) -> None:
    decoder = FrameDecoder(message_limits)
    try:
        frames = decoder.feed(data)
    except FrameError:
        return
    for frame in frames:
        try:
            message = decode_body(frame.type_id, frame.body)
        except MessageError:
            continue
        assert frame.type_id == message.TYPE


@settings(max_examples=300)
@given(st.sampled_from(list(MessageType)), st.binary(min_size=1, max_size=600))
def test_fuzzed_bodies_of_every_type_decode_or_fail_cleanly(
    message_type: MessageType, body: bytes
) -> None:
    try:
        message = decode_body(message_type, body)
    except MessageError:
        return
    assert message.TYPE is message_type


# ---------------------------------------------------------------- secure channel


def channel_pair() -> tuple[SecureChannel, SecureChannel]:
    initiator = Handshake(
        initiator=True,
        identity=KEYS[0],
        static=StaticKey.generate(),
        genesis_hash=GENESIS,
        check_peer=lambda _i: None,
    )
    responder = Handshake(
        initiator=False,
        identity=KEYS[1],
        static=StaticKey.generate(),
        genesis_hash=GENESIS,
        check_peer=lambda _i: None,
    )
    second = responder.receive(initiator.start())
    assert second is not None
    third = initiator.receive(second)
    assert third is not None and responder.receive(third) is None
    assert initiator.result is not None and responder.result is not None
    return (
        SecureChannel(initiator.result.noise, message_limits),
        SecureChannel(responder.result.noise, message_limits),
    )


def test_channel_carries_frames_larger_than_a_noise_message() -> None:
    sender, receiver = channel_pair()
    body = bytes(range(256)) * 1000  # 256 000 bytes: four records
    frames = encode_frame(MessageType.EXTRINSICS, body) + encode_frame(MessageType.VOTE, b"v")
    sealed = sender.seal(frames)
    assert len(sealed) > len(frames) + 4 * 16
    got: list[Frame] = []
    for i in range(0, len(sealed), 10_000):
        got.extend(receiver.open(sealed[i : i + 10_000]))
    assert got == [Frame(MessageType.EXTRINSICS, body), Frame(MessageType.VOTE, b"v")]
    assert len(frames) > 3 * MAX_RECORD_PLAINTEXT


def test_channel_refuses_a_tampered_record() -> None:
    sender, receiver = channel_pair()
    sealed = bytearray(sender.seal(encode_frame(MessageType.VOTE, b"hello")))
    sealed[5] ^= 1
    with pytest.raises(FrameError, match="authentication"):
        receiver.open(bytes(sealed))


def test_channel_refuses_records_out_of_order() -> None:
    sender, receiver = channel_pair()
    first = sender.seal(encode_frame(MessageType.VOTE, b"one"))
    second = sender.seal(encode_frame(MessageType.VOTE, b"two"))
    with pytest.raises(FrameError, match="authentication"):
        receiver.open(second + first)
