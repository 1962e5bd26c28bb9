"""The consensus loop's wait for work (create_empty_blocks = false), on trio's virtual clock.

A real ``Core`` and ``ConsensusHost`` (four validators, we do not propose
height 2), a chain and WAL reduced to what starting a height reads. After
the decision of height 1 the loop pauses ``block_interval_ms``; with nothing
in the pool it then waits before height 2 until work arrives, a peer's
message of height 2 arrives, or the heartbeat deadline ``idle_wait_ms`` after
the decision. Block sync's ``jump_to`` starts its height at once.
"""

from __future__ import annotations

from typing import Any

import trio

from consensus import Core, CoreConfig, Input, StartHeight, VoteReceived, proposer_of
from ledger.types import ValidatorSet, VoteType
from node.daemon.consensus_loop import ConsensusLoop
from tests.consensus.support import BLOCK_B, KEYS, validator_set, vote

FOUR = validator_set(4)
US = next(i for i in range(4) if KEYS[i].public != proposer_of(FOUR, 2, 0))
PEER = (US + 1) % 4
PAUSE_MS, HEARTBEAT_MS = 100, 5_000


class Store:
    def __init__(self) -> None:
        self.height = 0

    def validators_for(self, height: int) -> ValidatorSet:
        return FOUR


class Wal:
    def append(self, inp: Input) -> None:
        pass

    def sync(self) -> None:
        pass

    def start_height(self, inp: StartHeight) -> None:
        pass


class Pool:
    def __init__(self) -> None:
        self.ready = False

    def has_work(self) -> bool:
        return self.ready


def _unused(*args: Any) -> Any:
    raise AssertionError("not expected here")


def make_loop(store: Store, pool: Pool, idle_wait_ms: int = HEARTBEAT_MS) -> ConsensusLoop:
    return ConsensusLoop(
        core=Core(CoreConfig(KEYS[US].public)),
        chain=store,  # type: ignore[arg-type]
        wal=Wal(),  # type: ignore[arg-type]
        guard=None,
        block_interval_ms=PAUSE_MS,
        build_block=_unused,
        on_commit=_unused,
        broadcast=lambda action: None,
        idle_wait_ms=idle_wait_ms,
        has_work=pool.has_work,
    )


def _height(loop: ConsensusLoop) -> int:
    return loop.core.height  # read afresh each time (no narrowing across awaits)


def _waiting(loop: ConsensusLoop) -> bool:
    return loop.waiting_for_work


async def _decided_height_1(nursery: trio.Nursery, loop: ConsensusLoop, store: Store) -> float:
    """Run the loop at height 1, then as if height 1 were decided and stored now."""
    await nursery.start(loop.run, [])
    assert _height(loop) == 1
    store.height = 1
    loop.schedule_start(2)
    return trio.current_time()


async def test_an_idle_node_starts_the_next_height_at_the_heartbeat(
    autojump_clock: trio.abc.Clock,
) -> None:
    store, pool = Store(), Pool()
    loop = make_loop(store, pool)
    async with trio.open_nursery() as nursery:
        decided = await _decided_height_1(nursery, loop, store)
        await trio.sleep(HEARTBEAT_MS / 1000 - 0.5)
        assert _height(loop) == 1 and _waiting(loop)
        await trio.sleep(1)
        assert _height(loop) == 2 and not _waiting(loop)
        assert loop.started_at - decided == HEARTBEAT_MS / 1000
        nursery.cancel_scope.cancel()


async def test_work_arriving_starts_the_height_at_once(autojump_clock: trio.abc.Clock) -> None:
    store, pool = Store(), Pool()
    loop = make_loop(store, pool)
    async with trio.open_nursery() as nursery:
        decided = await _decided_height_1(nursery, loop, store)
        await trio.sleep(1)
        loop.work_arrived()  # a transaction that is not ready (a future nonce): no block
        assert _height(loop) == 1
        pool.ready = True
        loop.work_arrived()
        assert _height(loop) == 2
        assert loop.started_at - decided == 1
        await trio.sleep(HEARTBEAT_MS / 1000)  # the heartbeat's wait was cancelled
        assert _height(loop) == 2
        nursery.cancel_scope.cancel()


async def test_work_already_in_the_pool_starts_after_the_pause(
    autojump_clock: trio.abc.Clock,
) -> None:
    store, pool = Store(), Pool()
    pool.ready = True
    loop = make_loop(store, pool)
    async with trio.open_nursery() as nursery:
        decided = await _decided_height_1(nursery, loop, store)
        await trio.sleep(PAUSE_MS / 1000 + 0.01)
        assert _height(loop) == 2
        assert loop.started_at - decided == PAUSE_MS / 1000
        nursery.cancel_scope.cancel()


async def test_a_peers_message_of_the_height_starts_it_at_once(
    autojump_clock: trio.abc.Clock,
) -> None:
    store, pool = Store(), Pool()
    loop = make_loop(store, pool)
    async with trio.open_nursery() as nursery:
        await _decided_height_1(nursery, loop, store)
        await trio.sleep(2)
        assert _height(loop) == 1
        loop.hold_or_submit(VoteReceived(vote(PEER, VoteType.PREVOTE, 2, 0, BLOCK_B)), 2)
        assert _height(loop) == 2
        await trio.sleep(0.01)  # the vote, queued for the consensus task, is fed
        prevotes = loop.core.keeper.tally(0, VoteType.PREVOTE)
        assert list(prevotes.votes_for(BLOCK_B)) == [vote(PEER, VoteType.PREVOTE, 2, 0, BLOCK_B)]
        nursery.cancel_scope.cancel()


async def test_block_sync_starts_the_height_it_jumps_to_at_once(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Peers' messages of a height far above the core cannot wake it: no wait there."""
    store, pool = Store(), Pool()
    loop = make_loop(store, pool)
    async with trio.open_nursery() as nursery:
        await nursery.start(loop.run, [])
        store.height = 5  # block sync committed up to 5
        loop.jump_to(6)
        assert _height(loop) == 6 and not _waiting(loop)
        nursery.cancel_scope.cancel()


async def test_create_empty_blocks_starts_after_the_pause_regardless(
    autojump_clock: trio.abc.Clock,
) -> None:
    store, pool = Store(), Pool()
    loop = make_loop(store, pool, idle_wait_ms=0)
    async with trio.open_nursery() as nursery:
        decided = await _decided_height_1(nursery, loop, store)
        await trio.sleep(PAUSE_MS / 1000 + 0.01)
        assert _height(loop) == 2 and not _waiting(loop)
        assert loop.started_at - decided == PAUSE_MS / 1000
        nursery.cancel_scope.cancel()
