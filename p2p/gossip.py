"""Gossip policy: which peer gets which item, and which arrivals reach the node.

Theory of operation
-------------------
Items are deduplicated by their gossip key (``p2p.messages.gossip_key`` for
proposals and votes, the extrinsic hash for extrinsics). Two kinds of memory,
both bounded LRUs:

* each peer's ``seen`` set: keys that peer has, because it sent them to us,
  announced them with ``Have``, or we queued them to it. ``fan_out`` skips
  those, so nothing travels twice over one connection and nothing goes back
  where it came from. A key is marked only once its frame is actually queued:
  an item dropped at a full queue can be sent again later.
* one global ``seen`` set: keys already handed to the node. ``accept`` lets
  only the first copy of each item through, whichever peer it came from.

Documents (F10) are keyed by their hash, as proposals and votes are.
Extrinsic batches are filtered item by item and re-batched within the
message limits for each peer. Other messages (status, block sync, pings)
have no key and are always sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from p2p.config import P2PStats
from p2p.framing import encode_frame
from p2p.limits import SeenSet
from p2p.messages import (
    MAX_EXTRINSIC_BYTES,
    MAX_EXTRINSICS_BATCH_BYTES,
    MAX_EXTRINSICS_PER_BATCH,
    Document,
    Extrinsics,
    Message,
    Proposal,
    Vote,
    document_key,
    encode_body,
    extrinsic_key,
    gossip_key,
)
from p2p.peer import PeerConnection

# Bytes an item adds to an Extrinsics body beyond its own length (bin32 header).
_ITEM_OVERHEAD = 5
_BATCH_BUDGET = MAX_EXTRINSICS_BATCH_BYTES - 8  # room for the array header


def batch_extrinsics(items: Iterable[bytes]) -> list[Extrinsics]:
    """Cut ``items`` into Extrinsics messages that respect the count and byte limits."""
    batches: list[Extrinsics] = []
    batch: list[bytes] = []
    size = 0
    for item in items:
        if not 0 < len(item) <= MAX_EXTRINSIC_BYTES:
            raise ValueError(f"an extrinsic is 1..{MAX_EXTRINSIC_BYTES} bytes, got {len(item)}")
        cost = len(item) + _ITEM_OVERHEAD
        if batch and (len(batch) == MAX_EXTRINSICS_PER_BATCH or size + cost > _BATCH_BUDGET):
            batches.append(Extrinsics(tuple(batch)))
            batch, size = [], 0
        batch.append(item)
        size += cost
    if batch:
        batches.append(Extrinsics(tuple(batch)))
    return batches


def _key(message: Message, body: bytes) -> bytes | None:
    """The dedup key of a keyed message other than an extrinsic batch; None if it has none."""
    if isinstance(message, (Proposal, Vote)):
        return gossip_key(message.TYPE, body)
    if isinstance(message, Document):
        return document_key(message.content)
    return None


class Gossip:
    """Fan-out to peers and first-copy delivery to the node, by gossip key."""

    def __init__(self, seen_global: int, stats: P2PStats) -> None:
        self.seen = SeenSet(seen_global)
        self.stats = stats

    def fan_out(
        self, peers: Iterable[PeerConnection], message: Message, force: bool = False
    ) -> int:
        """Queue ``message`` to each of ``peers`` lacking it; return how many got it."""
        peers = list(peers)
        if isinstance(message, Extrinsics):
            # Each item's key once, and each distinct batch framed once: most peers
            # lack the same items, so they get the same frames.
            keyed = [(extrinsic_key(item), item) for item in message.extrinsics]
            frames: dict[tuple[bytes, ...], bytes] = {}
            return sum(1 for peer in peers if self._extrinsics_to(peer, keyed, force, frames))
        body = encode_body(message)
        frame = encode_frame(message.TYPE, body)
        key = _key(message, body)
        if key is not None:
            self.seen.add(key)  # our own items are not delivered back to us
        sent = 0
        for peer in peers:
            if key is not None and key in peer.seen and not force:
                continue
            if peer.enqueue(message.TYPE, frame):
                sent += 1
                if key is not None:
                    peer.seen.add(key)
        return sent

    def _extrinsics_to(
        self,
        peer: PeerConnection,
        keyed: list[tuple[bytes, bytes]],
        force: bool,
        frames: dict[tuple[bytes, ...], bytes],
    ) -> bool:
        """Queue to ``peer`` the (key, item) pairs it lacks; ``frames`` shares encodings."""
        todo = [pair for pair in keyed if force or pair[0] not in peer.seen]
        sent = False
        done = 0
        for batch in batch_extrinsics(item for _, item in todo):
            frame = frames.get(batch.extrinsics)
            if frame is None:
                frame = frames[batch.extrinsics] = encode_frame(batch.TYPE, encode_body(batch))
            count = len(batch.extrinsics)
            if peer.enqueue(batch.TYPE, frame):
                sent = True
                for key, _ in todo[done : done + count]:
                    peer.seen.add(key)
            done += count
        return sent

    def accept(self, peer: PeerConnection, message: Message, body: bytes) -> Message | None:
        """Record what ``peer`` has; return what the node has not seen yet (or None)."""
        key = _key(message, body)
        if key is not None:
            peer.seen.add(key)
            if self.seen.add(key):
                return message
            self.stats.duplicates_in += 1
            return None
        if isinstance(message, Extrinsics):
            fresh = []
            for item in message.extrinsics:
                key = extrinsic_key(item)
                peer.seen.add(key)
                if self.seen.add(key):
                    fresh.append(item)
            self.stats.duplicates_in += len(message.extrinsics) - len(fresh)
            return Extrinsics(tuple(fresh)) if fresh else None
        return message
