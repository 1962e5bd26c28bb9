"""The node's side of block sync: serve committed blocks, apply fetched ones.

Theory of operation
-------------------
``serve_blocks`` answers peers' block requests from the block store (p2p
calls it, synchronously, in the asking peer's task; p2p trims the answer to
its bounds).

``BlockSync.run`` looks at the peers' statuses every ``interval`` seconds.
When one is ahead (``p2p.sync.choose_peer``), it fetches ranges from that
peer (``p2p.sync.fetch``: asked, decoded, matched to the request) until our
chain reaches the height the peer announced, or the peer has nothing more.
Each block is then verified and applied in order: its commit against the
validator set of its height, the block executed against our state, then
written with its commit, and handed to ``on_commit`` as a block the
consensus loop had decided. When the chain moved (caught up, or the peer
stopped short, or a later reply failed), consensus jumps to the next height.

Who is wrong when it fails: a reply that is not what was asked for
(``BadSyncReply``) or a commit without +2/3 of the right signatures
(``InvalidCommit``) is the peer's doing, and the peer is dropped and
penalised. A block with a valid commit that does not execute here
(``InvalidBlock``, e.g. another state root) was agreed on by the
validators, so the difference is ours (other code than the network runs):
it is logged and the peer keeps its standing. A peer that goes away or
does not answer (``P2PError``) is just tried again on the next look.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

import structlog
import trio

from consensus import InvalidCommit, verify_commit
from ledger.types import Commit
from node.daemon.chain import Chain, Executed
from node.daemon.metrics import NodeMetrics
from p2p.service import P2PError
from p2p.sync import (
    BadSyncReply,
    BlockSource,
    SyncedBlock,
    SyncTarget,
    best_height,
    choose_peer,
    fetch,
    next_request,
    peer_statuses,
)
from pallets.executive.executor import InvalidBlock

log = structlog.get_logger("node.sync")

SYNC_INTERVAL_SECONDS: Final = 0.5
# A peer that lied about blocks: enough points for a ban (p2p.limits.PeerScores).
BAD_BLOCK_POINTS: Final = 100.0


class SyncNetwork(BlockSource, Protocol):
    """The p2p service as block sync uses it: a block source that can drop a liar."""

    def disconnect(self, identity: bytes, fault: str | None = None, points: float = 0) -> None: ...


def serve_blocks(chain: Chain, from_height: int, count: int) -> list[tuple[bytes, bytes]]:
    """Committed ``(block, commit)`` bytes from ``from_height`` on, at most ``count``."""
    out = []
    for height in range(max(from_height, 1), min(from_height + count, chain.height + 1)):
        block = chain.blocks.block_by_height(height)
        commit = chain.blocks.commit_at(height)
        if block is None or commit is None:
            break
        out.append((block.encode(), commit.encode()))
    return out


class BlockSync:
    """Catch the chain up from peers that are ahead; a trio service."""

    def __init__(
        self,
        *,
        chain: Chain,
        network: SyncNetwork,
        metrics: NodeMetrics,
        on_commit: Callable[[Executed, Commit], None],
        jump_to: Callable[[int], None],
        stalled: Callable[[], bool],
        own_validator: bytes | None = None,
        interval: float = SYNC_INTERVAL_SECONDS,
    ) -> None:
        self.chain = chain
        self.network = network
        self.metrics = metrics
        self._on_commit = on_commit
        self._jump_to = jump_to
        self._stalled = stalled
        self._own_validator = own_validator
        self.interval = interval
        self.syncing = False

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await trio.sleep(self.interval)
            await self.sync_once()

    async def sync_once(self) -> bool:
        """Look at the peers once and catch up from the best; True if some peer was ahead."""
        statuses = peer_statuses(self.network)
        target = choose_peer(statuses, self.chain.height, stalled=self._stalled())
        self._observe_peers(target is not None, best_height(statuses))
        if target is None:
            self.syncing = False
            return False
        self.syncing = True
        try:
            await self.sync_from(target)
        except (BadSyncReply, InvalidCommit) as exc:
            log.warning("peer sent bad blocks", peer=target.identity.hex()[:16], error=str(exc))
            self.network.disconnect(target.identity, fault="bad_block", points=BAD_BLOCK_POINTS)
        except (P2PError, InvalidBlock) as exc:
            log.warning("block sync failed", peer=target.identity.hex()[:16], error=str(exc))
        finally:
            self.syncing = False
        return True

    async def sync_from(self, target: SyncTarget) -> None:
        """Fetch and apply blocks from ``target`` until we reach its height or it has no more."""
        log.info(
            "block sync", behind=target.height - self.chain.height, peer=target.identity.hex()[:16]
        )
        start = self.chain.height
        try:
            while (request := next_request(self.chain.height, target.height)) is not None:
                synced = await fetch(self.network, target.identity, request)
                if not synced:
                    return
                for item in synced:
                    self.apply(item)
                await trio.sleep(0)
        finally:
            # Whatever was applied stays applied, also when the peer stopped
            # short or a later reply failed: consensus goes on from there.
            if self.chain.height > start:
                self._jump_to(self.chain.height + 1)

    def apply(self, item: SyncedBlock) -> bool:
        """Verify and commit one fetched block; False if the chain already has its height."""
        height = item.height
        if height <= self.chain.height:
            # Consensus committed it while the request was out.
            return False
        block, commit = item.block, item.commit
        self.metrics.signature_checks("commit", len(commit.signatures))
        verify_commit(commit, self.chain.validators_for(height), self.chain.genesis_hash)
        self.chain.validate_block(block, round_=commit.round)
        executed = self.chain.commit_block(block, commit)
        self._on_commit(executed, commit)
        self.metrics.synced(height)
        return True

    def _observe_peers(self, syncing: bool, best: int) -> None:
        """Peer-derived metrics, computed on the loop (the scrape runs in another thread)."""
        self.metrics.sync_status(syncing, best)
        validators = self.chain.validators_for(self.chain.height + 1)
        peers = self.network.connected_peers()
        self.metrics.validators_seen(validators, peers, self._own_validator)
