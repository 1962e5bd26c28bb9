"""The node's block sync service (node/daemon/sync.py): a fresh chain catches up
from a signed chain served by a fake network, and refuses what it must."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
import trio
import trio.testing

from ledger.crypto import blake2b256
from ledger.kv import MemoryKV
from ledger.types import Block, Commit
from node.daemon.chain import Chain, Executed
from node.daemon.metrics import NodeMetrics
from node.daemon.sync import BlockSync, serve_blocks
from node.testing.replay_fixture import ChainBuilder
from p2p.messages import Status
from p2p.service import RequestTimeout
from p2p.sync import SyncedBlock
from pallets.executive.verify import BatchVerifier

HEIGHT = 6

Served = Callable[[int, int], list[tuple[bytes, bytes]]]


class FakeNetwork:
    """One peer announcing ``height`` and serving blocks through ``serve``."""

    def __init__(self, peer: bytes, height: int, genesis_hash: bytes, serve: Served) -> None:
        self.peer = peer
        self.status = Status(height, 0, blake2b256(b"head"), genesis_hash)
        self.serve = serve
        self.requests: list[tuple[int, int]] = []
        self.faults: list[tuple[bytes, str | None, float]] = []

    def connected_peers(self) -> list[bytes]:
        return [self.peer]

    def peer_status(self, identity: bytes) -> Status | None:
        return self.status if identity == self.peer else None

    async def request_blocks(
        self, identity: bytes, from_height: int, count: int, timeout: float | None = None
    ) -> list[tuple[bytes, bytes]]:
        self.requests.append((from_height, count))
        await trio.sleep(0)
        return self.serve(from_height, count)

    def disconnect(self, identity: bytes, fault: str | None = None, points: float = 0) -> None:
        self.faults.append((identity, fault, points))


@pytest.fixture(scope="module")
def source() -> Iterator[ChainBuilder]:
    builder = ChainBuilder(validators=4, accounts=4)
    for height in range(1, HEIGHT + 1):
        builder.add_block(builder.transfers(height % 3))
    yield builder
    builder.close()


class Follower:
    def __init__(self, source: ChainBuilder, serve: Served | None = None) -> None:
        self.chain = Chain(MemoryKV(), source.genesis, verifier=BatchVerifier(1))
        peer = source.validator_keys[0].public
        serve = serve or (lambda f, c: serve_blocks(source.chain, f, c))
        self.network = FakeNetwork(peer, source.chain.height, source.genesis_hash, serve)
        self.committed: list[int] = []
        self.while_syncing: list[bool] = []
        self.jumps: list[int] = []
        self.stalled = False
        self.sync = BlockSync(
            chain=self.chain,
            network=self.network,
            metrics=NodeMetrics(),
            on_commit=self._on_commit,
            jump_to=self.jumps.append,
            stalled=lambda: self.stalled,
            interval=0.5,
        )

    def _on_commit(self, executed: Executed, commit: Commit) -> None:
        assert commit.block_hash == executed.block.hash
        self.committed.append(executed.block.header.height)
        self.while_syncing.append(self.sync.syncing)


def test_serving_answers_committed_blocks_in_order_within_the_range(
    source: ChainBuilder,
) -> None:
    chain = source.chain
    # height 0 (genesis) has no commit: serving starts at 1
    assert [Commit.decode(c).height for _, c in serve_blocks(chain, 0, 3)] == [1, 2]
    expected = [_stored(source, h) for h in range(4, HEIGHT + 1)]
    assert serve_blocks(chain, 4, 10) == [(b.encode(), c.encode()) for b, c in expected]
    assert serve_blocks(chain, HEIGHT + 1, 5) == []


async def test_a_fresh_chain_catches_up_then_jumps_consensus(source: ChainBuilder) -> None:
    follower = Follower(source)
    assert await follower.sync.sync_once()
    assert follower.chain.height == HEIGHT
    assert follower.chain.state_root == source.chain.state_root
    assert follower.committed == list(range(1, HEIGHT + 1))
    assert all(follower.while_syncing)  # RPC system_health says so meanwhile
    assert follower.jumps == [HEIGHT + 1]
    assert not follower.sync.syncing and follower.network.faults == []
    # caught up: nothing more is asked for
    requests = list(follower.network.requests)
    assert not await follower.sync.sync_once()
    assert follower.network.requests == requests


async def test_a_peer_one_block_ahead_is_left_to_consensus_until_stalled(
    source: ChainBuilder,
) -> None:
    follower = Follower(source)
    for height in range(1, HEIGHT):
        follower.sync.apply(SyncedBlock(*_stored(source, height)))
    assert follower.chain.height == HEIGHT - 1
    assert not await follower.sync.sync_once()
    assert follower.network.requests == []
    follower.stalled = True
    assert await follower.sync.sync_once()
    assert follower.network.requests == [(HEIGHT, 1)] and follower.chain.height == HEIGHT


async def test_a_block_consensus_committed_meanwhile_is_skipped(source: ChainBuilder) -> None:
    follower = Follower(source)
    first = SyncedBlock(*_stored(source, 1))
    assert follower.sync.apply(first)
    assert not follower.sync.apply(first)
    assert follower.committed == [1]


def _stored(source: ChainBuilder, height: int) -> tuple[Block, Commit]:
    block = source.chain.blocks.block_by_height(height)
    commit = source.chain.blocks.commit_at(height)
    assert block is not None and commit is not None
    return block, commit


async def test_a_reply_that_is_not_what_was_asked_for_costs_the_peer(
    source: ChainBuilder,
) -> None:
    follower = Follower(source, serve=lambda f, c: serve_blocks(source.chain, f + 1, c))
    assert await follower.sync.sync_once()
    assert follower.chain.height == 0 and follower.committed == []
    assert follower.network.faults == [(follower.network.peer, "bad_block", 100.0)]


async def test_a_commit_without_a_quorum_costs_the_peer(source: ChainBuilder) -> None:
    def unsigned(from_height: int, count: int) -> list[tuple[bytes, bytes]]:
        out = []
        for block_bytes, commit_bytes in serve_blocks(source.chain, from_height, count):
            commit = Commit.decode(commit_bytes)
            out.append((block_bytes, replace(commit, signatures=commit.signatures[:1]).encode()))
        return out

    follower = Follower(source, serve=unsigned)
    assert await follower.sync.sync_once()
    assert follower.chain.height == 0
    assert [fault for _, fault, _ in follower.network.faults] == ["bad_block"]


async def test_a_signed_block_that_does_not_execute_here_is_not_the_peers_fault(
    source: ChainBuilder,
) -> None:
    # The validators signed a block our runtime does not agree with (another
    # state root): the difference is ours, the peer keeps its standing.
    block, _ = _stored(source, 1)
    wrong = replace(block, header=replace(block.header, state_root=blake2b256(b"elsewhere")))
    commit = source.sign_commit(wrong)
    follower = Follower(source, serve=lambda f, c: [(wrong.encode(), commit.encode())])
    assert await follower.sync.sync_once()
    assert follower.chain.height == 0 and follower.network.faults == []


async def test_consensus_goes_on_from_what_was_applied_when_a_peer_stops_short(
    source: ChainBuilder,
) -> None:
    follower = Follower(source)
    follower.network.status = replace(follower.network.status, height=HEIGHT + 3)
    assert await follower.sync.sync_once()
    assert follower.chain.height == HEIGHT and follower.jumps == [HEIGHT + 1]
    assert follower.network.faults == []


async def test_consensus_goes_on_from_what_was_applied_when_a_later_reply_lies(
    source: ChainBuilder,
) -> None:
    def honest_then_liar(from_height: int, count: int) -> list[tuple[bytes, bytes]]:
        if from_height <= 3:
            return serve_blocks(source.chain, from_height, min(count, 4 - from_height))
        return serve_blocks(source.chain, from_height + 1, count)

    follower = Follower(source, serve=honest_then_liar)
    assert await follower.sync.sync_once()
    assert follower.network.requests == [(1, HEIGHT), (4, HEIGHT - 3)]
    assert follower.chain.height == 3 and follower.jumps == [4]
    assert [fault for _, fault, _ in follower.network.faults] == ["bad_block"]


async def test_a_peer_that_does_not_answer_is_tried_again_later(source: ChainBuilder) -> None:
    def silent(from_height: int, count: int) -> list[tuple[bytes, bytes]]:
        raise RequestTimeout("no answer")

    follower = Follower(source, serve=silent)
    assert await follower.sync.sync_once()
    assert follower.network.faults == [] and not follower.sync.syncing
    follower.network.serve = lambda f, c: serve_blocks(source.chain, f, c)
    assert await follower.sync.sync_once()
    assert follower.chain.height == HEIGHT


async def test_the_service_looks_at_the_peers_every_interval(
    source: ChainBuilder, autojump_clock: trio.testing.MockClock
) -> None:
    follower = Follower(source)
    async with trio.open_nursery() as nursery:
        await nursery.start(follower.sync.run)
        assert follower.network.requests == []
        await trio.sleep(follower.sync.interval * 1.5)
        assert follower.chain.height == HEIGHT and follower.jumps == [HEIGHT + 1]
        nursery.cancel_scope.cancel()
