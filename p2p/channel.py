"""Sans-I/O secure channel: frames in, encrypted records out, and back.

Theory of operation
-------------------
After the handshake each direction has its own ChaCha20-Poly1305 cipher
state with an implicit nonce counter, so records must be encrypted and
decrypted in stream order: one writer task seals, one reader task opens.

``seal`` takes already-framed plaintext (one frame or many frames packed
together), cuts it into chunks of at most 65519 bytes (a Noise message is at
most 65535 bytes including its 16-byte tag) and returns the records ready
for the socket. ``open`` takes raw socket bytes and returns the complete
frames they finish. A record that fails authentication, a short record or a
framing error raises ``FrameError``: the stream cannot be trusted after it.
"""

from __future__ import annotations

from typing import Any

from noise.exceptions import NoiseInvalidMessage

from p2p.framing import (
    MAX_RECORD_PLAINTEXT,
    NOISE_TAG_LEN,
    Frame,
    FrameDecoder,
    FrameError,
    MaxBody,
    RecordDecoder,
    encode_record,
)


class SecureChannel:
    """Encrypts outgoing frame bytes and decrypts, then deframes, incoming bytes."""

    def __init__(self, noise: Any, max_body: MaxBody) -> None:
        if not noise.handshake_finished:
            raise ValueError("a secure channel needs a finished Noise handshake")
        self._noise = noise
        self._records = RecordDecoder(min_length=NOISE_TAG_LEN + 1)
        self._frames = FrameDecoder(max_body)

    def seal(self, plaintext: bytes) -> bytes:
        if not plaintext:
            raise ValueError("nothing to seal")
        view = memoryview(plaintext)
        out = bytearray()
        for start in range(0, len(plaintext), MAX_RECORD_PLAINTEXT):
            chunk = bytes(view[start : start + MAX_RECORD_PLAINTEXT])
            out += encode_record(self._noise.encrypt(chunk))
        return bytes(out)

    def open(self, data: bytes | bytearray) -> list[Frame]:
        frames: list[Frame] = []
        for record in self._records.feed(data):
            try:
                plaintext = self._noise.decrypt(record)
            except NoiseInvalidMessage as exc:
                raise FrameError("record failed authentication") from exc
            frames.extend(self._frames.feed(plaintext))
        return frames
