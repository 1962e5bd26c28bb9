"""Sans-I/O framing: Noise records on TCP, message frames inside them.

Theory of operation
-------------------
Two layers, each a pure "bytes in, units out" parser (docs/protocol/p2p.md §3):

1. **Records** carry Noise messages on the TCP stream:
   ``u16 big-endian length || noise message``. A Noise message is at most
   65535 bytes (the Noise spec's limit), which is exactly what the two-byte
   length can say. During the handshake the records hold handshake messages;
   afterwards each holds one ChaCha20-Poly1305 ciphertext (plaintext plus a
   16-byte tag), so one record carries at most 65519 plaintext bytes.

2. **Frames** are cut from the *decrypted* byte stream, which is the
   concatenation of all record plaintexts: ``u8 type || u32 big-endian
   length || body``. A frame may span many records and a record may hold
   many frames (the sender packs queued frames together), so messages of any
   allowed size cross the 64 KiB Noise limit without a separate
   fragmentation scheme.

The frame decoder reads the 5-byte header first and refuses an unknown
type, an empty body or a length above that type's maximum *before* it
buffers a single body byte: an attacker cannot make us allocate 4 GiB by
announcing it. Any refusal raises ``FrameError``; the connection cannot be
resynchronised after one, so the caller disconnects the peer and counts the
fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

NOISE_MAX_MESSAGE: Final = 65535
NOISE_TAG_LEN: Final = 16
MAX_RECORD_PLAINTEXT: Final = NOISE_MAX_MESSAGE - NOISE_TAG_LEN
RECORD_HEADER: Final = 2
FRAME_HEADER: Final = 5


class FrameError(ValueError):
    """Bytes from a peer that break the framing (a peer fault; disconnect)."""


class FrameTooLarge(FrameError):
    """A frame announcing a body above its type's maximum."""


# ---------------------------------------------------------------- records


def encode_record(message: bytes) -> bytes:
    """``u16 length || message`` for one Noise message."""
    if not 0 < len(message) <= NOISE_MAX_MESSAGE:
        raise ValueError(f"a Noise message is 1..{NOISE_MAX_MESSAGE} bytes, got {len(message)}")
    return len(message).to_bytes(RECORD_HEADER, "big") + message


class RecordDecoder:
    """Cuts ``u16 length || message`` records from a byte stream."""

    def __init__(self, min_length: int = 1) -> None:
        self._buffer = bytearray()
        self.min_length = min_length

    def feed(self, data: bytes | bytearray) -> list[bytes]:
        self._buffer += data
        records: list[bytes] = []
        buffer = self._buffer
        pos = 0
        while len(buffer) - pos >= RECORD_HEADER:
            length = int.from_bytes(buffer[pos : pos + RECORD_HEADER], "big")
            if length < self.min_length:
                raise FrameError(f"record of {length} bytes is shorter than {self.min_length}")
            end = pos + RECORD_HEADER + length
            if end > len(buffer):
                break
            records.append(bytes(buffer[pos + RECORD_HEADER : end]))
            pos = end
        if pos:
            del buffer[:pos]
        return records

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def take_rest(self) -> bytes:
        """Bytes received after the last complete record (handed to the next layer)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


# ---------------------------------------------------------------- frames


@dataclass(frozen=True, slots=True)
class Frame:
    type_id: int
    body: bytes


def encode_frame(type_id: int, body: bytes) -> bytes:
    """``u8 type || u32 length || body``."""
    if not 0 <= type_id <= 255:
        raise ValueError(f"frame type {type_id} outside 0..255")
    if not 0 < len(body) < 1 << 32:
        raise ValueError(f"frame body of {len(body)} bytes cannot be framed")
    return bytes([type_id]) + len(body).to_bytes(4, "big") + body


MaxBody = Callable[[int], int | None]
"""Maximum body size for a frame type; None when the type is unknown here."""


class FrameDecoder:
    """Cuts frames from the decrypted stream, refusing bad headers before buffering."""

    def __init__(self, max_body: MaxBody) -> None:
        self._max_body = max_body
        self._buffer = bytearray()
        self._header: tuple[int, int] | None = None  # (type, length) of the frame in progress

    def feed(self, data: bytes | bytearray) -> list[Frame]:
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        pos = 0  # consumed bytes are dropped once at the end: no quadratic shifting
        try:
            while True:
                if self._header is None:
                    if len(buffer) - pos < FRAME_HEADER:
                        return frames
                    type_id = buffer[pos]
                    length = int.from_bytes(buffer[pos + 1 : pos + FRAME_HEADER], "big")
                    limit = self._max_body(type_id)
                    if limit is None:
                        raise FrameError(f"unknown or unexpected frame type {type_id}")
                    if length == 0:
                        raise FrameError(f"empty frame body (type {type_id})")
                    if length > limit:
                        raise FrameTooLarge(
                            f"frame type {type_id} announces {length} bytes, limit {limit}"
                        )
                    pos += FRAME_HEADER
                    self._header = (type_id, length)
                type_id, length = self._header
                if len(buffer) - pos < length:
                    return frames
                frames.append(Frame(type_id, bytes(buffer[pos : pos + length])))
                pos += length
                self._header = None
        finally:
            if pos:
                del buffer[:pos]

    @property
    def buffered(self) -> int:
        return len(self._buffer)
