"""Block requests between peers: asking one peer for blocks, answering theirs.

Theory of operation
-------------------
``P2PService.request_blocks`` checks its arguments, finds the peer and takes a
request id; ``wait_for_blocks`` sends the ``BlockRequest`` and waits for the
matching ``BlockResponse`` (or a timeout, or the peer's disconnection).
``deliver_block_response`` hands an arriving response to the request waiting
for it: a late answer to a request that gave up is dropped quietly, an answer
to nothing or with more blocks than asked is the peer's fault.

The node serves requests through the ``serve_blocks`` callback;
``answer_block_request`` bounds the response in count and bytes.

What the blocks are worth (decoding, heights, commits) is ``p2p.sync``'s and
the node's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import trio

from p2p.config import P2PConfig
from p2p.messages import MAX_BLOCK_RESPONSE_BYTES, BlockRequest, BlockResponse
from p2p.peer import PeerConnection, PeerError

ServeBlocks = Callable[[int, int], Sequence[tuple[bytes, bytes]]]
"""``serve_blocks(from_height, count)`` -> committed ``(block bytes, commit bytes)`` in order."""


class P2PError(Exception):
    """A request to the p2p layer that cannot be met."""


class PeerUnavailable(P2PError):
    """The peer is not connected, went away, or its send queue is full."""


class RequestTimeout(P2PError):
    """The peer did not answer a block request in time."""


def _short(identity: bytes) -> str:
    return identity.hex()[:16]


async def wait_for_blocks(
    peer: PeerConnection, request: BlockRequest, timeout: float
) -> list[tuple[bytes, bytes]]:
    """Send ``request`` to ``peer`` and wait up to ``timeout`` seconds for its answer.

    Raises ``PeerUnavailable`` (queue full, disconnected while waiting) or
    ``RequestTimeout``.
    """
    identity, request_id = peer.identity, request.request_id
    send, receive = trio.open_memory_channel[BlockResponse](1)
    peer.pending[request_id] = (send, request.count)
    try:
        if not peer.send_message(request):
            raise PeerUnavailable(f"peer {_short(identity)} send queue is full")
        with trio.fail_after(timeout):
            response = await receive.receive()
    except trio.TooSlowError:
        raise RequestTimeout(f"peer {_short(identity)} did not answer in time") from None
    except trio.EndOfChannel:
        raise PeerUnavailable(f"peer {_short(identity)} disconnected") from None
    finally:
        if peer.pending.pop(request_id, None) is not None:
            peer.expired.append(request_id)
    return list(response.blocks)


def deliver_block_response(peer: PeerConnection, message: BlockResponse) -> None:
    """Hand ``message`` to the request of ``peer`` waiting for it; PeerError if none asked."""
    waiting = peer.pending.pop(message.request_id, None)
    if waiting is None and message.request_id in peer.expired:
        peer.expired.remove(message.request_id)  # a late answer: drop it quietly
    elif waiting is None:
        raise PeerError("unsolicited_response", f"no request {message.request_id}")
    else:
        send, count = waiting
        if len(message.blocks) > count:
            raise PeerError("bad_message", f"{len(message.blocks)} blocks for {count} asked")
        send.send_nowait(message)


def answer_block_request(
    request: BlockRequest, serve_blocks: ServeBlocks | None, config: P2PConfig
) -> BlockResponse:
    """The response to a peer's ``request``, bounded in count and bytes."""
    count = min(request.count, config.max_blocks_per_response)
    budget = min(config.max_response_bytes, MAX_BLOCK_RESPONSE_BYTES - 1024)
    entries = [] if serve_blocks is None else serve_blocks(request.from_height, count)
    out: list[tuple[bytes, bytes]] = []
    used = 0
    for block, commit in list(entries)[:count]:
        if not isinstance(block, bytes) or not isinstance(commit, bytes):
            raise TypeError("serve_blocks must return (bytes, bytes) pairs")
        used += len(block) + len(commit) + 16
        if used > budget:
            break
        out.append((block, commit))
    return BlockResponse(request.request_id, tuple(out))
