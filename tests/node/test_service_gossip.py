"""The node's gossip service (node/daemon/gossip.py) over a recording network."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import node.daemon.gossip as gossip_module
from consensus import BroadcastProposal, BroadcastVote
from ledger.crypto import Keypair, blake2b256
from ledger.types import Proposal, Vote, VoteType
from node.daemon.gossip import EXTRINSICS_PER_BATCH, GossipService
from p2p.messages import Extrinsics, Message
from p2p.messages import Proposal as ProposalMessage
from p2p.messages import Vote as VoteMessage

GENESIS = blake2b256(b"gossip test genesis")
KEY = Keypair.dev("alice")
PEERS = [Keypair.dev(name).public for name in ("bob", "carol")]


class RecordingNetwork:
    def __init__(self) -> None:
        self.broadcasts: list[Message] = []
        self.sends: list[tuple[bytes, Message, bool]] = []

    def connected_peers(self) -> list[bytes]:
        return list(PEERS)

    def broadcast(self, message: Message) -> int:
        self.broadcasts.append(message)
        return len(PEERS)

    def send(self, identity: bytes, message: Message, *, force: bool = False) -> bool:
        self.sends.append((identity, message, force))
        return True


class Height:
    """The consensus height and whether it stalled, as the service reads them."""

    def __init__(self, height: int) -> None:
        self.height = height
        self.stalled = False


def vote(height: int, round_: int = 0) -> Vote:
    return Vote.create(KEY, GENESIS, VoteType.PREVOTE, height, round_, None, 1000)


def proposal(height: int) -> Proposal:
    block_hash = blake2b256(b"block %d" % height)
    signature = KEY.sign(Proposal.sign_bytes_of(GENESIS, height, 1, 0, block_hash))
    return Proposal(height, 1, 0, block_hash, KEY.public, signature)


def service(at: Height) -> tuple[GossipService, RecordingNetwork]:
    network = RecordingNetwork()
    gossip = GossipService(network, current_height=lambda: at.height, stalled=lambda: at.stalled)
    return gossip, network


def test_extrinsics_go_out_in_bounded_batches() -> None:
    gossip, network = service(Height(1))
    raws = [b"tx-%d" % i for i in range(2 * EXTRINSICS_PER_BATCH + 200)]
    gossip.queue_extrinsics(raws[:10])
    gossip.queue_extrinsics(raws[10:])
    gossip.queue_extrinsics([])
    assert gossip.queued == len(raws)
    assert gossip.flush() == 3
    batches = [m for m in network.broadcasts if isinstance(m, Extrinsics)]
    assert [len(b.extrinsics) for b in batches] == [EXTRINSICS_PER_BATCH] * 2 + [200]
    assert [x for b in batches for x in b.extrinsics] == raws
    assert gossip.flush() == 0 and gossip.queued == 0


def test_consensus_broadcasts_relay_the_justifying_votes_before_the_proposal() -> None:
    gossip, network = service(Height(5))
    own = vote(5)
    gossip.broadcast_action(BroadcastVote(own))
    pol = (vote(5, 0), vote(5, 1))
    gossip.broadcast_action(BroadcastProposal(proposal(5), b"payload", pol))
    assert network.broadcasts == [
        VoteMessage(own),
        VoteMessage(pol[0]),
        VoteMessage(pol[1]),
        ProposalMessage(proposal(5), b"payload"),
    ]


def test_regossip_sends_the_current_heights_messages_to_every_peer() -> None:
    at = Height(5)
    gossip, network = service(at)
    current = [VoteMessage(vote(5)), ProposalMessage(proposal(5), b"block")]
    ahead = VoteMessage(vote(6))
    for message in (*current, ahead):
        gossip.relay(message)
    assert network.broadcasts == [*current, ahead]
    assert gossip.regossip() == len(PEERS) * len(current)
    assert network.sends == [(peer, m, True) for peer in PEERS for m in current]

    network.sends.clear()
    at.height = 6
    assert gossip.regossip() == len(PEERS)
    assert [m for _, m, _ in network.sends] == [ahead] * len(PEERS)

    gossip.new_height()
    assert gossip.regossip() == 0


def test_messages_kept_for_regossip_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gossip_module, "MAX_HEIGHT_MESSAGES", 2)
    gossip, network = service(Height(5))
    messages = [VoteMessage(vote(5, round_)) for round_ in range(4)]
    for message in messages:
        gossip.relay(message)
    assert network.broadcasts == messages  # all relayed at once
    assert gossip.regossip() == len(PEERS) * 2  # only two kept


async def test_the_service_flushes_and_regossips_only_while_stalled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    at = Height(5)
    gossip, network = service(at)
    async with trio.open_nursery() as nursery:
        await nursery.start(gossip.run)
        gossip.queue_extrinsics([b"tx"])
        gossip.relay(VoteMessage(vote(5)))
        await trio.sleep(gossip.flush_interval * 1.5)
        assert Extrinsics((b"tx",)) in network.broadcasts and gossip.queued == 0

        await trio.sleep(gossip.regossip_interval * 3)
        assert network.sends == []  # progress: nothing re-sent
        at.stalled = True
        await trio.sleep(gossip.regossip_interval)
        assert len(network.sends) == len(PEERS)
        nursery.cancel_scope.cancel()


def test_a_message_for_a_height_the_store_cannot_check_is_dropped_not_fatal() -> None:
    """Review finding: after a torn store the core may be a height ahead of the store."""
    from types import SimpleNamespace

    from node.daemon.chain import ChainError
    from node.daemon.service import NodeService

    def unknown(height: int) -> None:
        raise ChainError(f"no validator set for height {height} yet")

    fake = SimpleNamespace(chain=SimpleNamespace(validators_for=unknown))
    assert NodeService._validators_for(fake, 9) is None  # type: ignore[arg-type]
