"""Sans-I/O authenticated handshake: Noise XX bound to Ed25519 node identities.

Theory of operation
-------------------
The transport is ``Noise_XX_25519_ChaChaPoly_BLAKE2b`` (docs/protocol/p2p.md
§2). XX exchanges both static X25519 keys, encrypted, in three messages::

    -> e                  payload: enc([version, genesis_hash])      (clear)
    <- e, ee, s, es       payload: identity proof of the responder   (encrypted)
    -> s, se              payload: identity proof of the initiator   (encrypted)

Noise proves that each side holds the private key of the static key it
sent; it says nothing about *who* that key belongs to. Each side therefore
signs, with its Ed25519 node identity, the bytes

    b"CREDICHAIN/P2P-IDENTITY/1" || role || genesis_hash || noise_static_pub || h

where ``role`` is ``b"R"`` or ``b"I"`` (a proof cannot be reflected back),
and ``h`` is the Noise handshake hash just before the proof's message is
written. ``h`` already covers both sides' inputs so far (the initiator's
fresh ephemeral key at least), so a proof recorded in one session is useless
in any other. The signature binds identity to static key for this chain only.

Refusals raise ``HandshakeError`` with a short ``reason`` code (for logs and
metrics) and a message: malformed input, another protocol version or chain,
a replayed first message (its ephemeral key was seen before), a low-order
X25519 key, a bad identity signature, an identity that is ourselves, not the
one we dialled, or refused by the caller's ``check_peer`` (allowlist, bans).

This class does no I/O and reads no clock: ``start`` gives the first
message (initiator), ``receive`` takes a peer's message and returns the
reply to send (or None); ``result`` is set when the handshake is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from noise.connection import Keypair as NoiseKeypair
from noise.connection import NoiseConnection
from noise.exceptions import NoiseHandshakeError, NoiseInvalidMessage, NoiseValueError

from ledger import codec
from ledger.codec import DecodeError, DecodeLimits, expect_bytes, expect_int, expect_list
from ledger.crypto import HASH_LEN, KEY_LEN, SIGNATURE_LEN, Keypair, verify
from p2p.framing import NOISE_MAX_MESSAGE
from p2p.limits import SeenSet

PROTOCOL_NAME: Final = b"Noise_XX_25519_ChaChaPoly_BLAKE2b"
PROLOGUE: Final = b"CREDICHAIN/P2P/1"
IDENTITY_DOMAIN: Final = b"CREDICHAIN/P2P-IDENTITY/1"
P2P_VERSION: Final = 1
DH_LEN: Final = 32
_PAYLOAD_LIMITS: Final = DecodeLimits(
    max_size=256, max_depth=2, max_container_len=4, max_bytes_len=64
)

# X25519 public keys of small order (libsodium's list). Compared with the top
# bit cleared, as X25519 ignores that bit; any of them makes the shared
# secret predictable (all zero), so the key proves nothing.
_LOW_ORDER: Final = frozenset(
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    )
)


class HandshakeError(Exception):
    """A refused handshake; ``reason`` is a short code for logs and metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def is_low_order_x25519(public: bytes) -> bool:
    """True for a malformed or small-order X25519 public key (refuse it)."""
    if len(public) != DH_LEN:
        return True
    return public[:31] + bytes([public[31] & 0x7F]) in _LOW_ORDER


@dataclass(frozen=True, slots=True)
class StaticKey:
    """The Noise static X25519 key of this process (bound to the identity per session)."""

    private: bytes
    public: bytes

    @classmethod
    def generate(cls) -> StaticKey:
        private = x25519.X25519PrivateKey.generate()
        return cls.from_private(private.private_bytes_raw())

    @classmethod
    def from_private(cls, private: bytes) -> StaticKey:
        if len(private) != DH_LEN:
            raise ValueError(f"an X25519 private key is {DH_LEN} bytes, got {len(private)}")
        key = x25519.X25519PrivateKey.from_private_bytes(private)
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(private=private, public=public)

    def __repr__(self) -> str:  # never print the private key
        return f"StaticKey(public={self.public.hex()})"


def identity_sign_bytes(role: bytes, genesis_hash: bytes, static_public: bytes, h: bytes) -> bytes:
    """The bytes an identity signs to claim a Noise static key in one handshake."""
    if role not in (b"I", b"R"):
        raise ValueError(f"role must be b'I' or b'R', got {role!r}")
    return IDENTITY_DOMAIN + role + genesis_hash + static_public + h


def identity_payload(
    identity: Keypair, role: bytes, genesis_hash: bytes, static_public: bytes, h: bytes
) -> bytes:
    """``enc([identity_public, signature])``: the proof carried in messages 2 and 3."""
    signature = identity.sign(identity_sign_bytes(role, genesis_hash, static_public, h))
    return codec.encode([identity.public, signature])


def hello_payload(genesis_hash: bytes, version: int = P2P_VERSION) -> bytes:
    """``enc([version, genesis_hash])``: the clear payload of message 1."""
    return codec.encode([version, genesis_hash])


@dataclass(frozen=True, slots=True)
class HandshakeResult:
    peer_identity: bytes
    peer_static: bytes
    handshake_hash: bytes
    noise: Any  # the NoiseConnection, now in transport mode


CheckPeer = Callable[[bytes], str | None]
"""Given a proven peer identity, a refusal reason code, or None to accept."""


class Handshake:
    """One side of one handshake; feed it the peer's Noise messages in order."""

    def __init__(
        self,
        *,
        initiator: bool,
        identity: Keypair,
        static: StaticKey,
        genesis_hash: bytes,
        check_peer: CheckPeer,
        replay_guard: SeenSet | None = None,
        expected_identity: bytes | None = None,
    ) -> None:
        if len(genesis_hash) != HASH_LEN:
            raise ValueError(f"genesis hash must be {HASH_LEN} bytes, got {len(genesis_hash)}")
        if expected_identity is not None and len(expected_identity) != KEY_LEN:
            raise ValueError(f"expected identity must be {KEY_LEN} bytes")
        self.initiator = initiator
        self.identity = identity
        self.static = static
        self.genesis_hash = genesis_hash
        self.check_peer = check_peer
        self.replay_guard = replay_guard
        self.expected_identity = expected_identity
        self.result: HandshakeResult | None = None
        self._step = 0  # messages processed so far (sent or received)
        noise = NoiseConnection.from_name(PROTOCOL_NAME)
        noise.set_prologue(PROLOGUE)
        noise.set_keypair_from_private_bytes(NoiseKeypair.STATIC, static.private)
        if initiator:
            noise.set_as_initiator()
        else:
            noise.set_as_responder()
        noise.start_handshake()
        self._noise = noise

    # ------------------------------------------------------------ helpers

    def _h(self) -> bytes:
        return bytes(self._noise.noise_protocol.symmetric_state.h)

    def _handshake_state(self) -> Any:
        return self._noise.noise_protocol.handshake_state

    def _read(self, message: bytes) -> bytes:
        if not 0 < len(message) <= NOISE_MAX_MESSAGE:
            raise HandshakeError("malformed", f"handshake message of {len(message)} bytes")
        try:
            return bytes(self._noise.read_message(message))
        except (InvalidTag, NoiseInvalidMessage) as exc:
            raise HandshakeError("decrypt", "handshake message failed authentication") from exc
        except (NoiseValueError, NoiseHandshakeError, ValueError) as exc:
            # cryptography raises ValueError when a DH result is all zero: name the
            # culprit if it is a low-order key the message just delivered.
            state = self._handshake_state()
            for name in ("re", "rs"):
                public = getattr(getattr(state, name, None), "public_bytes", None)
                if isinstance(public, bytes) and is_low_order_x25519(public):
                    raise HandshakeError(
                        "low_order_key", f"peer key {name} has small order"
                    ) from exc
            raise HandshakeError("malformed", f"handshake message refused: {exc}") from exc

    @staticmethod
    def _check_remote_static(state: Any) -> bytes:
        # ``state`` is the HandshakeState captured before the last read: the
        # noise library drops it from the connection once the handshake splits.
        public = bytes(state.rs.public_bytes)
        if is_low_order_x25519(public):
            raise HandshakeError("low_order_key", "peer static key has small order")
        return public

    def _verify_identity(
        self, payload: bytes, role: bytes, static_public: bytes, h: bytes
    ) -> bytes:
        try:
            identity, signature = expect_list(
                codec.decode(payload, _PAYLOAD_LIMITS), 2, "identity proof"
            )
            identity = expect_bytes(identity, "identity key", KEY_LEN)
            signature = expect_bytes(signature, "identity signature", SIGNATURE_LEN)
        except DecodeError as exc:
            raise HandshakeError("malformed", f"identity proof: {exc}") from exc
        if not verify(
            identity, identity_sign_bytes(role, self.genesis_hash, static_public, h), signature
        ):
            raise HandshakeError(
                "bad_signature", f"identity {identity.hex()[:16]} did not sign this session's key"
            )
        if identity == self.identity.public:
            raise HandshakeError("self", "peer has our own identity (connected to ourselves?)")
        if self.expected_identity is not None and identity != self.expected_identity:
            raise HandshakeError(
                "unexpected_identity",
                f"dialled {self.expected_identity.hex()[:16]} but {identity.hex()[:16]} answered",
            )
        refusal = self.check_peer(identity)
        if refusal is not None:
            raise HandshakeError(refusal, f"identity {identity.hex()[:16]} refused")
        return identity

    def _finish(self, identity: bytes, static_public: bytes) -> None:
        self.result = HandshakeResult(
            peer_identity=identity,
            peer_static=static_public,
            handshake_hash=bytes(self._noise.get_handshake_hash()),
            noise=self._noise,
        )

    # ------------------------------------------------------------ protocol

    def start(self) -> bytes:
        """The initiator's first message."""
        if not self.initiator or self._step != 0:
            raise RuntimeError("start() is for the initiator, once, before anything else")
        self._step = 1
        return bytes(self._noise.write_message(hello_payload(self.genesis_hash)))

    def receive(self, message: bytes) -> bytes | None:
        """Process the peer's next handshake message; return our reply, if any."""
        if self.result is not None:
            raise RuntimeError("handshake already complete")
        if self.initiator:
            if self._step != 1:
                raise RuntimeError("initiator must call start() first")
            return self._initiator_read_second(message)
        if self._step == 0:
            return self._responder_read_first(message)
        if self._step == 2:
            self._responder_read_third(message)
            return None
        raise RuntimeError("responder handshake in an unexpected state")

    def _responder_read_first(self, message: bytes) -> bytes:
        if len(message) < DH_LEN:
            raise HandshakeError("malformed", f"first message of {len(message)} bytes")
        ephemeral = bytes(message[:DH_LEN])
        if is_low_order_x25519(ephemeral):
            raise HandshakeError("low_order_key", "peer ephemeral key has small order")
        if self.replay_guard is not None and not self.replay_guard.add(ephemeral):
            raise HandshakeError("replay", "first message replayed (ephemeral key seen before)")
        payload = self._read(message)
        try:
            version, genesis = expect_list(
                codec.decode(payload, _PAYLOAD_LIMITS), 2, "hello payload"
            )
            version = expect_int(version, "protocol version")
            genesis = expect_bytes(genesis, "genesis hash", HASH_LEN)
        except DecodeError as exc:
            raise HandshakeError("malformed", f"hello: {exc}") from exc
        if version != P2P_VERSION:
            raise HandshakeError("version", f"peer speaks version {version}, we {P2P_VERSION}")
        if genesis != self.genesis_hash:
            raise HandshakeError(
                "genesis",
                f"peer is on chain {genesis.hex()[:16]}, not {self.genesis_hash.hex()[:16]}",
            )
        h = self._h()
        reply = bytes(
            self._noise.write_message(
                identity_payload(self.identity, b"R", self.genesis_hash, self.static.public, h)
            )
        )
        self._step = 2
        return reply

    def _initiator_read_second(self, message: bytes) -> bytes:
        if len(message) < DH_LEN:
            raise HandshakeError("malformed", f"second message of {len(message)} bytes")
        if is_low_order_x25519(bytes(message[:DH_LEN])):
            raise HandshakeError("low_order_key", "peer ephemeral key has small order")
        h = self._h()
        state = self._handshake_state()
        payload = self._read(message)
        static_public = self._check_remote_static(state)
        identity = self._verify_identity(payload, b"R", static_public, h)
        h3 = self._h()
        reply = bytes(
            self._noise.write_message(
                identity_payload(self.identity, b"I", self.genesis_hash, self.static.public, h3)
            )
        )
        self._step = 3
        self._finish(identity, static_public)
        return reply

    def _responder_read_third(self, message: bytes) -> None:
        h = self._h()
        state = self._handshake_state()
        payload = self._read(message)
        static_public = self._check_remote_static(state)
        identity = self._verify_identity(payload, b"I", static_public, h)
        self._step = 3
        self._finish(identity, static_public)
