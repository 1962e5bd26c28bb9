"""One authenticated connection: a bounded send queue, a reader and a writer.

Theory of operation
-------------------
After the handshake a ``PeerConnection`` owns the TCP stream and the
``SecureChannel``. Two tasks run per peer, in one cancel scope:

* the **writer** waits on the ``SendQueue``, packs the queued frames
  (urgent ones first) into at most 256 KiB of plaintext, seals it and sends
  it. A send that makes no progress for ``write_timeout`` means the peer
  stopped reading: it is disconnected. When the queue stays empty for
  ``ping_interval`` the writer sends a Ping so the other side's idle timer
  does not fire.
* the **reader** receives bytes, meters them through the peer's token
  buckets (when the peer is over its rate the reader simply waits, which
  pushes back through TCP), opens records, cuts frames, decodes messages and
  hands each to the service's handler. Nothing arriving for ``idle_timeout``
  disconnects the peer.

Callers never wait on a peer: ``enqueue`` is synchronous and returns False
when the queue is full (by count or bytes), and the message is dropped for
that peer only. That is what keeps a slow or hostile peer from stalling
consensus.

Everything that goes wrong ends the connection with a ``PeerError`` whose
``kind`` names it and whose ``points`` count against the peer (0 for
ordinary disconnects).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Final

import trio

from p2p.channel import SecureChannel
from p2p.config import P2PConfig, P2PStats
from p2p.framing import FrameError, FrameTooLarge, encode_frame
from p2p.limits import SeenSet, TokenBucket
from p2p.messages import (
    MAX_BODY,
    BlockResponse,
    Message,
    MessageError,
    MessageType,
    Ping,
    Status,
    decode_body,
    encode_body,
)

RECEIVE_CHUNK: Final = 1 << 16
WRITE_BATCH: Final = 256 << 10

# Fault points per kind of misbehaviour (ban at P2PConfig.ban_threshold).
FAULT_POINTS: Final = {
    "malformed_frame": 60,
    "oversized_frame": 60,
    "bad_message": 60,
    "wrong_genesis": 100,
    "unsolicited_response": 25,
    "stalled": 10,
    "idle": 0,
    "closed": 0,
}


class PeerError(Exception):
    """Why a peer connection ended; ``points`` are counted against the peer."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.points = FAULT_POINTS.get(kind, 0)


class SendQueue:
    """Two FIFO queues of frames (urgent first), bounded in count and bytes."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._urgent: deque[bytes] = deque()
        self._bulk: deque[bytes] = deque()
        self.queued_bytes = 0
        self._ready = trio.Event()

    def __len__(self) -> int:
        return len(self._urgent) + len(self._bulk)

    def put(self, frame: bytes, urgent: bool) -> bool:
        """Queue ``frame``; False (and nothing queued) when the queue is full."""
        if len(self) >= self.max_messages or self.queued_bytes + len(frame) > self.max_bytes:
            return False
        (self._urgent if urgent else self._bulk).append(frame)
        self.queued_bytes += len(frame)
        self._ready.set()
        return True

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of queued frames (at least one), urgent first."""
        parts: list[bytes] = []
        size = 0
        for queue in (self._urgent, self._bulk):
            while queue and (not parts or size + len(queue[0]) <= max_bytes):
                frame = queue.popleft()
                parts.append(frame)
                size += len(frame)
        self.queued_bytes -= size
        return b"".join(parts)

    async def wait(self) -> None:
        while not len(self):
            self._ready = trio.Event()
            await self._ready.wait()


Handler = Callable[["PeerConnection", Message, bytes], Awaitable[None]]


class PeerConnection:
    """An authenticated peer: identity, stream, queue, status and dedup memory."""

    def __init__(
        self,
        *,
        identity: bytes,
        remote: str,
        initiator: bool,
        stream: trio.abc.Stream,
        noise: object,
        leftover: bytes,
        config: P2PConfig,
        stats: P2PStats,
    ) -> None:
        self.identity = identity
        self.remote = remote
        self.initiator = initiator
        self.stream = stream
        self.config = config
        self.stats = stats
        self.channel = SecureChannel(noise, self._max_body)
        self._leftover = leftover
        self.queue = SendQueue(config.send_queue_messages, config.send_queue_bytes)
        self.seen = SeenSet(config.seen_per_peer)
        self.status: Status | None = None
        now = trio.current_time()
        self.byte_bucket = TokenBucket(config.recv_bytes_per_second, config.recv_bytes_burst, now)
        self.message_bucket = TokenBucket(
            config.recv_messages_per_second, config.recv_messages_burst, now
        )
        self.request_bucket = TokenBucket(
            config.block_requests_per_second, config.block_requests_burst, now
        )
        # request id -> (channel to the waiting request_blocks, count asked)
        self.pending: dict[int, tuple[trio.MemorySendChannel[BlockResponse], int]] = {}
        # ids of requests we gave up on: a late answer to one is dropped, not a fault
        self.expired: deque[int] = deque(maxlen=16)
        self.close_reason = "connection closed"
        self.cancel_scope = trio.CancelScope()
        self.closed = trio.Event()
        self.bytes_in = 0
        self.bytes_out = 0
        self.dropped = 0
        self._ping_nonce = 0

    def __repr__(self) -> str:
        return f"PeerConnection({self.identity.hex()[:16]}, {self.remote})"

    def _max_body(self, type_id: int) -> int | None:
        try:
            message_type = MessageType(type_id)
        except ValueError:
            return None
        if message_type is MessageType.BLOCK_RESPONSE and not (self.pending or self.expired):
            return None  # responses are only accepted while we wait for one
        return MAX_BODY[message_type]

    # ------------------------------------------------------------ sending

    def enqueue(self, message_type: MessageType, frame: bytes) -> bool:
        """Queue a framed message without waiting; False if this peer's queue is full."""
        urgent = message_type not in (
            MessageType.EXTRINSICS,
            MessageType.BLOCK_RESPONSE,
            MessageType.DOCUMENT,
        )
        if not self.queue.put(frame, urgent):
            self.dropped += 1
            self.stats.dropped_out += 1
            return False
        self.stats.messages_out[message_type.name] += 1
        return True

    def send_message(self, message: Message) -> bool:
        return self.enqueue(message.TYPE, encode_frame(message.TYPE, encode_body(message)))

    def close(self, reason: str) -> None:
        self.close_reason = reason
        self.cancel_scope.cancel()

    # ------------------------------------------------------------ tasks

    async def run(self, handle: Handler) -> None:
        """Run reader and writer until the peer goes away; raises ``PeerError`` on a fault.

        The first task to end (EOF, a fault, a stall) ends the other; its
        ``PeerError`` is re-raised bare, not inside an exception group.
        """
        error: PeerError | None = None

        async def guarded(task: Callable[[], Awaitable[None]], nursery: trio.Nursery) -> None:
            nonlocal error
            try:
                await task()
            except PeerError as exc:
                error = error or exc
            nursery.cancel_scope.cancel()

        with self.cancel_scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(guarded, self._writer, nursery)
                nursery.start_soon(guarded, partial(self._reader, handle), nursery)
        if error is not None:
            raise error

    async def _writer(self) -> None:
        while True:
            with trio.move_on_after(self.config.ping_interval):
                await self.queue.wait()
            if not len(self.queue):
                self._ping_nonce += 1
                self.send_message(Ping(self._ping_nonce))
                continue
            records = self.channel.seal(self.queue.take(WRITE_BATCH))
            try:
                with trio.move_on_after(self.config.write_timeout) as stall:
                    await self.stream.send_all(records)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise PeerError("closed", f"write failed: {exc}") from exc
            if stall.cancelled_caught:
                raise PeerError("stalled", f"no write progress for {self.config.write_timeout}s")
            self.bytes_out += len(records)
            self.stats.bytes_out += len(records)

    async def _meter(self, bucket: TokenBucket, amount: float) -> None:
        wait = bucket.take(amount, trio.current_time())
        if wait > 0:
            await trio.sleep(wait)

    async def _reader(self, handle: Handler) -> None:
        data: bytes | bytearray = self._leftover
        self._leftover = b""
        while True:
            if data:
                self.bytes_in += len(data)
                self.stats.bytes_in += len(data)
                await self._meter(self.byte_bucket, len(data))
                try:
                    frames = self.channel.open(data)
                except FrameTooLarge as exc:
                    raise PeerError("oversized_frame", str(exc)) from exc
                except FrameError as exc:
                    raise PeerError("malformed_frame", str(exc)) from exc
                for frame in frames:
                    await self._meter(self.message_bucket, 1)
                    try:
                        message = decode_body(frame.type_id, frame.body)
                    except MessageError as exc:
                        raise PeerError("bad_message", str(exc)) from exc
                    self.stats.messages_in[message.TYPE.name] += 1
                    await handle(self, message, frame.body)
            with trio.move_on_after(self.config.idle_timeout) as idle:
                try:
                    data = await self.stream.receive_some(RECEIVE_CHUNK)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                    raise PeerError("closed", f"read failed: {exc}") from exc
            if idle.cancelled_caught:
                raise PeerError("idle", f"nothing received for {self.config.idle_timeout}s")
            if not data:
                return
