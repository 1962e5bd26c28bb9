"""The node's gossip: extrinsic batches, vote and proposal relay, re-gossip.

Theory of operation
-------------------
p2p deduplicates and fans out (``p2p.gossip``) but never relays by itself:
this service decides what the node passes on, once it has checked it.

* Extrinsics admitted to the pool (from RPC or from peers) are queued and
  broadcast in batches every ``flush_interval`` seconds: one message for
  many small items instead of one each.
* Votes and proposals (our own, from the consensus loop's broadcast
  actions, and peers' once the node has verified them) are broadcast at
  once, and kept (at most ``MAX_HEIGHT_MESSAGES``) until the next height.
* Re-gossip: while the chain makes no progress (``stalled``), every kept
  message of the current height is re-sent to every connected peer every
  ``regossip_interval`` seconds, even to peers that had it. A validator that
  (re)connects mid-height then gets what was gossiped before it arrived
  (Tendermint's vote gossip; without it 3 of 4 validators can wait on each
  other forever).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Protocol

import trio

from consensus import BroadcastProposal, BroadcastVote
from consensus.actions import Action
from p2p.messages import Extrinsics, Message
from p2p.messages import Proposal as ProposalMessage
from p2p.messages import Vote as VoteMessage

# Verified consensus messages kept for re-gossip, per height (votes, proposals).
MAX_HEIGHT_MESSAGES: Final = 2048
GOSSIP_FLUSH_SECONDS: Final = 0.02
REGOSSIP_SECONDS: Final = 1.0
# Extrinsics per broadcast batch (p2p re-batches within its own limits per peer).
EXTRINSICS_PER_BATCH: Final = 500


class GossipNetwork(Protocol):
    """What gossip needs from the p2p service."""

    def connected_peers(self) -> list[bytes]: ...

    def broadcast(self, message: Message) -> int: ...

    def send(self, identity: bytes, message: Message, *, force: bool = False) -> bool: ...


def _height_of(message: VoteMessage | ProposalMessage) -> int:
    return message.vote.height if isinstance(message, VoteMessage) else message.proposal.height


class GossipService:
    """Pass on what the node accepted; a trio service (batching and re-gossip loops)."""

    def __init__(
        self,
        network: GossipNetwork,
        *,
        current_height: Callable[[], int],
        stalled: Callable[[], bool],
        flush_interval: float = GOSSIP_FLUSH_SECONDS,
        regossip_interval: float = REGOSSIP_SECONDS,
    ) -> None:
        self.network = network
        self._current_height = current_height
        self._stalled = stalled
        self.flush_interval = flush_interval
        self.regossip_interval = regossip_interval
        self._queue: list[bytes] = []
        self._height_messages: dict[bytes, VoteMessage | ProposalMessage] = {}

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._flush_loop)
            nursery.start_soon(self._regossip_loop)
            task_status.started()

    # ------------------------------------------------------------ extrinsics

    def queue_extrinsics(self, raws: Iterable[bytes]) -> None:
        """Queue admitted extrinsics for the next batch."""
        self._queue.extend(raws)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Broadcast everything queued, in batches; returns the number of batches."""
        batches = 0
        while self._queue:
            batch = self._queue[:EXTRINSICS_PER_BATCH]
            del self._queue[:EXTRINSICS_PER_BATCH]
            self.network.broadcast(Extrinsics(tuple(batch)))
            batches += 1
        return batches

    async def _flush_loop(self) -> None:
        while True:
            await trio.sleep(self.flush_interval)
            self.flush()

    # ------------------------------------------------------------ votes and proposals

    def broadcast_action(self, action: Action) -> None:
        """The consensus loop's broadcast hook: our own votes and proposals."""
        if isinstance(action, BroadcastVote):
            self.relay(VoteMessage(action.vote))
        elif isinstance(action, BroadcastProposal):
            # The prevotes that justify a re-proposal go first: a peer has them when it arrives.
            for vote in action.pol_votes:
                self.relay(VoteMessage(vote))
            self.relay(ProposalMessage(action.proposal, action.payload))

    def relay(self, message: VoteMessage | ProposalMessage) -> None:
        """Gossip a verified message now, and keep it for re-gossip at this height."""
        inner = message.vote if isinstance(message, VoteMessage) else message.proposal
        if len(self._height_messages) < MAX_HEIGHT_MESSAGES:
            self._height_messages[inner.signature] = message
        self.network.broadcast(message)

    def new_height(self) -> None:
        """A block was committed: what was kept for the last height is of no more use."""
        self._height_messages.clear()

    def regossip(self) -> int:
        """Re-send the current height's messages to every peer; returns the sends queued."""
        current = self._current_height()
        messages = [m for m in self._height_messages.values() if _height_of(m) == current]
        sent = 0
        for identity in self.network.connected_peers():
            for message in messages:
                sent += self.network.send(identity, message, force=True)
        return sent

    async def _regossip_loop(self) -> None:
        while True:
            await trio.sleep(self.regossip_interval)
            if self._stalled():
                self.regossip()
