"""Driving the sans-I/O handshake over a trio stream.

Theory of operation
-------------------
``run_handshake`` moves Noise handshake messages between a ``Handshake``
and the socket, each message in a ``u16 length`` record. It reads no more
than it must, but TCP may deliver the peer's first transport records in the
same read as its last handshake message, so whatever follows the final
handshake record is returned as ``leftover`` for the secure channel.

XX authenticates the initiator last, so the initiator would otherwise call
the connection established before the responder has even checked it. The
initiator therefore also waits for the responder's first transport record
(the responder sends one at once on accepting: a Ping with nonce 0); a
refusal shows up as the connection closing, inside the handshake. The caller
bounds the whole exchange with a timeout (a cancel scope).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import trio

from p2p.framing import NOISE_MAX_MESSAGE, RECORD_HEADER, FrameError, RecordDecoder, encode_record
from p2p.handshake import Handshake, HandshakeError, HandshakeResult


async def _next_record(
    stream: trio.abc.Stream, decoder: RecordDecoder, ready: deque[bytes]
) -> bytes:
    while not ready:
        try:
            data = await stream.receive_some(NOISE_MAX_MESSAGE + RECORD_HEADER)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise HandshakeError("io", f"connection failed during handshake: {exc}") from exc
        if not data:
            raise HandshakeError("closed", "peer closed the connection during the handshake")
        try:
            ready.extend(decoder.feed(data))
        except FrameError as exc:
            raise HandshakeError("malformed", str(exc)) from exc
    return ready.popleft()


async def _send(stream: trio.abc.Stream, message: bytes) -> None:
    try:
        await stream.send_all(encode_record(message))
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        raise HandshakeError("io", f"connection failed during handshake: {exc}") from exc


async def run_handshake(
    stream: trio.abc.Stream, handshake: Handshake, spoke: Callable[[], None] | None = None
) -> tuple[HandshakeResult, bytes]:
    """Complete ``handshake`` on ``stream``; return its result and the bytes read past it.

    ``spoke`` is called once the peer's first handshake message has been
    accepted (the admission of inbound connections stops treating it as silent).
    """
    decoder = RecordDecoder()
    ready: deque[bytes] = deque()
    if handshake.initiator:
        await _send(stream, handshake.start())
    while handshake.result is None:
        reply = handshake.receive(await _next_record(stream, decoder, ready))
        if spoke is not None:
            spoke()
            spoke = None
        if reply is not None:
            await _send(stream, reply)
    if handshake.initiator:
        # The responder checks our identity only on the last handshake message;
        # its first transport record says it accepted us (else it just closes).
        ready.appendleft(await _next_record(stream, decoder, ready))
    # Whole records already cut belong to the transport too, before the raw rest.
    leftover = b"".join(encode_record(r) for r in ready) + decoder.take_rest()
    return handshake.result, leftover
