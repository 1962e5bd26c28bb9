"""Shared pieces of the p2p tests: keys, fast configs, raw protocol clients."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import trio
from cryptography.hazmat.primitives.asymmetric import x25519
from noise.backends.default.keypairs import KeyPair25519
from noise.connection import Keypair as NoiseKeypair
from noise.connection import NoiseConnection

from ledger.crypto import Keypair, blake2b256
from p2p.channel import SecureChannel
from p2p.config import P2PConfig, PeerAddress
from p2p.connect import run_handshake
from p2p.framing import RecordDecoder, encode_record
from p2p.handshake import PROLOGUE, PROTOCOL_NAME, Handshake, StaticKey, hello_payload
from p2p.messages import MAX_BODY, MessageType
from p2p.service import P2PService, ServeBlocks

GENESIS = blake2b256(b"credichain p2p test genesis")
OTHER_GENESIS = blake2b256(b"another chain")
KEYS = [Keypair.dev(name) for name in ("alice", "bob", "carol", "dave", "mallory")]
MALLORY = KEYS[4]

FAST = P2PConfig(
    handshake_timeout=2.0,
    dial_timeout=2.0,
    reconnect_min=0.05,
    reconnect_max=0.4,
    write_timeout=2.0,
    request_timeout=2.0,
)


def allow_keys(keys: Sequence[Keypair]) -> Callable[[bytes], bool]:
    allowed = frozenset(k.public for k in keys)
    return allowed.__contains__


def make_service(
    key: Keypair,
    allowed: Sequence[Keypair] = KEYS,
    peers: Sequence[PeerAddress] = (),
    config: P2PConfig = FAST,
    serve_blocks: ServeBlocks | None = None,
    genesis: bytes = GENESIS,
) -> P2PService:
    return P2PService(
        identity=key,
        genesis_hash=genesis,
        allow=allow_keys(allowed),
        peers=peers,
        config=config,
        serve_blocks=serve_blocks,
    )


def address_of(service: P2PService) -> PeerAddress:
    return PeerAddress(service.identity.public, "127.0.0.1", service.listen_port)


async def start(nursery: trio.Nursery, *services: P2PService) -> None:
    for service in services:
        await nursery.start(service.run)


async def connect(dialer: P2PService, *targets: P2PService) -> None:
    for target in targets:
        dialer.add_peer(address_of(target))
    await wait_until(lambda: all(t.identity.public in dialer.peers for t in targets))
    await wait_until(lambda: all(dialer.identity.public in t.peers for t in targets))


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


def message_limits(type_id: int) -> int | None:
    try:
        return MAX_BODY[MessageType(type_id)]
    except ValueError:
        return None


async def read_record(stream: trio.SocketStream, decoder: RecordDecoder) -> bytes | None:
    """The next record, or None when the server closed the connection."""
    while True:
        records = decoder.feed(b"")
        if records:
            return records[0]
        data = await stream.receive_some(70_000)
        if not data:
            return None
        records = decoder.feed(data)
        if records:
            assert len(records) == 1
            return records[0]


class RawInitiator:
    """A hand-driven Noise XX initiator that can send what a real node never would."""

    def __init__(self, fake_static_public: bytes | None = None) -> None:
        self.static = StaticKey.generate()
        noise = NoiseConnection.from_name(PROTOCOL_NAME)
        noise.set_prologue(PROLOGUE)
        noise.set_keypair_from_private_bytes(NoiseKeypair.STATIC, self.static.private)
        noise.set_as_initiator()
        noise.start_handshake()
        if fake_static_public is not None:
            private = x25519.X25519PrivateKey.from_private_bytes(self.static.private)
            noise.noise_protocol.handshake_state.s = KeyPair25519(
                private=private, public=private.public_key(), public_bytes=fake_static_public
            )
        self.noise: Any = noise

    def h(self) -> bytes:
        return bytes(self.noise.noise_protocol.symmetric_state.h)

    def first(self, payload: bytes | None = None) -> bytes:
        return bytes(self.noise.write_message(payload or hello_payload(GENESIS)))

    def read_second(self, message: bytes) -> bytes:
        return bytes(self.noise.read_message(message))

    def third(self, payload: bytes) -> bytes:
        return bytes(self.noise.write_message(payload))


async def raw_third_answer(port: int, proof_for: Callable[[RawInitiator], bytes]) -> bytes | None:
    """Handshake by hand over TCP with the node listening on ``port``, up to the third message.

    The third message carries ``proof_for(raw)`` as the initiator's identity
    proof (built once the responder's second message is read); returns the
    node's next record, None when it closed the connection instead.
    """
    raw = RawInitiator()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    decoder = RecordDecoder()
    async with stream:
        await stream.send_all(encode_record(raw.first()))
        second = await read_record(stream, decoder)
        assert second is not None
        raw.read_second(second)
        await stream.send_all(encode_record(raw.third(proof_for(raw))))
        return await read_record(stream, decoder)


async def open_client(
    port: int, key: Keypair, genesis: bytes = GENESIS, receive_buffer: int | None = None
) -> tuple[trio.SocketStream, SecureChannel]:
    """A bare, valid client connection (no service): handshake, then a raw channel.

    ``receive_buffer`` shrinks the kernel's receive buffer (set before
    connecting, so the TCP window stays small): a client that stops reading
    then stalls its sender after a few kilobytes instead of megabytes.
    """
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, receive_buffer)
    try:
        await sock.connect(("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    stream = trio.SocketStream(sock)
    handshake = Handshake(
        initiator=True,
        identity=key,
        static=StaticKey.generate(),
        genesis_hash=genesis,
        check_peer=lambda _i: None,
    )
    try:
        with trio.fail_after(5):
            result, leftover = await run_handshake(stream, handshake)
    except BaseException:
        await stream.aclose()
        raise
    channel = SecureChannel(result.noise, message_limits)
    # the server's accept signal, a Ping with nonce 0, is already in hand
    assert [(f.type_id, f.body) for f in channel.open(leftover)][:1] == [
        (MessageType.PING, b"\x91\x00")
    ]
    return stream, channel
