"""Block sync protocol: whom to follow, which range to ask for, what to accept.

Theory of operation
-------------------
A node that is behind catches up from one peer at a time, in ranges.

``choose_peer`` reads the peers' last ``Status``. The highest height above
ours wins; ties go to the lowest key, so the choice does not depend on the
order peers connected in. A peer only one block ahead is normal consensus
lag (the core decides that height itself) and is followed only when our
progress has stalled: the peers moved on and will not gossip that height's
votes again.

``next_request`` names the next range: from our height + 1, at most
``batch`` blocks, never more than the wire allows (``MAX_BLOCKS_PER_REQUEST``)
and never past the height the peer announced.

``check_reply`` accepts an answer only if it is what was asked for: at most
``count`` entries, each a block and a commit that decode, heights
consecutive from ``from_height``, each commit naming its block's height and
hash. Anything else raises ``BadSyncReply``, the peer's fault. An empty
answer is not a fault: the peer has nothing more to give (its status can run
ahead of what it serves), and the caller stops asking it for now.

What this module cannot check is whether a commit carries +2/3 of the right
validators' signatures, or whether a block executes to its state root: both
need the chain, so the node does them (``node.daemon.sync``), block by
block, in order. ``fetch`` is one round trip through a ``BlockSource`` (the
part of ``P2PService`` that sync uses): ask, then check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ledger.codec import DecodeError
from ledger.types import Block, Commit
from p2p.messages import MAX_BLOCKS_PER_REQUEST, Status

# Blocks asked for in one request: small enough that one reply is verified
# and executed between two looks at the peers, large enough to catch up fast.
SYNC_BATCH: Final = 32


class BadSyncReply(Exception):
    """A block response that is not what was asked for: the peer's fault."""


@dataclass(frozen=True, slots=True)
class SyncTarget:
    """The peer to sync from, and the height it announced."""

    identity: bytes
    height: int


@dataclass(frozen=True, slots=True)
class BlockRange:
    """One block request: ``count`` blocks from ``from_height`` on."""

    from_height: int
    count: int


@dataclass(frozen=True, slots=True)
class SyncedBlock:
    """A block and the commit that finalized it, decoded and matched, not yet verified."""

    block: Block
    commit: Commit

    @property
    def height(self) -> int:
        return self.block.header.height


class BlockSource(Protocol):
    """What block sync needs from the p2p service."""

    def connected_peers(self) -> list[bytes]: ...

    def peer_status(self, identity: bytes) -> Status | None: ...

    async def request_blocks(
        self, identity: bytes, from_height: int, count: int, timeout: float | None = None
    ) -> list[tuple[bytes, bytes]]: ...


def peer_statuses(source: BlockSource) -> list[tuple[bytes, Status | None]]:
    """Every connected peer with its last status (``None`` before its first)."""
    return [(identity, source.peer_status(identity)) for identity in source.connected_peers()]


def best_height(statuses: Iterable[tuple[bytes, Status | None]]) -> int:
    """The highest height any peer announced (0 with none)."""
    return max((s.height for _, s in statuses if s is not None), default=0)


def choose_peer(
    statuses: Iterable[tuple[bytes, Status | None]], height: int, *, stalled: bool
) -> SyncTarget | None:
    """The peer to sync from when our chain is at ``height``, or ``None`` (nothing to fetch)."""
    best: SyncTarget | None = None
    for identity, status in sorted(statuses, key=lambda item: item[0]):
        if status is None or status.height <= height:
            continue
        if status.height == height + 1 and not stalled:
            continue
        if best is None or status.height > best.height:
            best = SyncTarget(identity, status.height)
    return best


def next_request(height: int, target: int, batch: int = SYNC_BATCH) -> BlockRange | None:
    """The next range to ask for at ``height``, towards ``target``; ``None`` once there."""
    if not 1 <= batch <= MAX_BLOCKS_PER_REQUEST:
        raise ValueError(f"batch must be in 1..{MAX_BLOCKS_PER_REQUEST}, got {batch}")
    if height < 0:
        raise ValueError(f"height must be >= 0, got {height}")
    if target <= height:
        return None
    return BlockRange(height + 1, min(batch, target - height))


def check_reply(request: BlockRange, entries: Sequence[tuple[bytes, bytes]]) -> list[SyncedBlock]:
    """Decode and match a response to ``request``; ``BadSyncReply`` if it is not one."""
    if len(entries) > request.count:
        raise BadSyncReply(f"asked for {request.count} blocks, got {len(entries)}")
    out = []
    for expected, (block_bytes, commit_bytes) in enumerate(entries, start=request.from_height):
        try:
            block = Block.decode(block_bytes)
            commit = Commit.decode(commit_bytes)
        except DecodeError as exc:
            raise BadSyncReply(f"block {expected}: {exc}") from exc
        if block.header.height != expected:
            raise BadSyncReply(f"expected block {expected}, got {block.header.height}")
        if commit.height != expected or commit.block_hash != block.hash:
            raise BadSyncReply(f"block {expected}: the commit is for another block")
        out.append(SyncedBlock(block, commit))
    return out


async def fetch(source: BlockSource, identity: bytes, request: BlockRange) -> list[SyncedBlock]:
    """Ask one peer for ``request`` and check the answer.

    Raises what ``request_blocks`` raises (``p2p.service.P2PError``: the peer
    went away or did not answer in time) and ``BadSyncReply``.
    """
    entries = await source.request_blocks(identity, request.from_height, request.count)
    return check_reply(request, entries)
