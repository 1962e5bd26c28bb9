"""Block sync: the protocol without I/O (``p2p.sync``: which peer, which range,
which replies are refused) and over real TCP (request/response, bounds,
timeouts, late answers, a checked fetch)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio

from ledger.crypto import blake2b256
from ledger.types import Block, Commit, Header
from p2p.framing import Frame, encode_frame
from p2p.messages import (
    MAX_BLOCKS_PER_REQUEST,
    BlockRequest,
    BlockResponse,
    Status,
    decode_body,
    encode_body,
)
from p2p.service import PeerUnavailable, RequestTimeout
from p2p.sync import (
    SYNC_BATCH,
    BadSyncReply,
    BlockRange,
    SyncTarget,
    best_height,
    check_reply,
    choose_peer,
    fetch,
    next_request,
    peer_statuses,
)
from tests.p2p.helpers import (
    FAST,
    GENESIS,
    KEYS,
    MALLORY,
    connect,
    make_service,
    open_client,
    start,
    wait_until,
)

ALICE, BOB, CAROL = KEYS[:3]


CHAIN = {h: (b"block-%d" % h, b"commit-%d" % h) for h in range(1, 101)}


def serve(from_height: int, count: int) -> list[tuple[bytes, bytes]]:
    return [CHAIN[h] for h in range(from_height, from_height + count) if h in CHAIN]


async def test_block_sync_request_and_response() -> None:
    alice = make_service(ALICE, serve_blocks=serve)
    bob = make_service(BOB)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, bob)
            await connect(bob, alice)
            assert await bob.request_blocks(ALICE.public, 10, 5) == [
                CHAIN[h] for h in range(10, 15)
            ]
            assert await bob.request_blocks(ALICE.public, 98, 10) == [
                CHAIN[h] for h in (98, 99, 100)
            ]
            assert await bob.request_blocks(ALICE.public, 500, 3) == []
            # alice serves nothing back (no callback): an empty answer, not a timeout
            assert await alice.request_blocks(BOB.public, 1, 1) == []
            with pytest.raises(ValueError, match="count"):
                await bob.request_blocks(ALICE.public, 1, 0)
            with pytest.raises(ValueError, match="from_height"):
                await bob.request_blocks(ALICE.public, -1, 1)
            with pytest.raises(PeerUnavailable, match="not connected"):
                await bob.request_blocks(CAROL.public, 1, 1)
            nursery.cancel_scope.cancel()


async def test_block_responses_are_bounded_in_bytes() -> None:
    big = {h: (bytes(300_000), b"c") for h in range(1, 11)}
    config = replace(FAST, max_response_bytes=1_000_000)
    alice = make_service(
        ALICE,
        config=config,
        serve_blocks=lambda f, c: [big[h] for h in range(f, f + c) if h in big],
    )
    bob = make_service(BOB)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, bob)
            await connect(bob, alice)
            assert len(await bob.request_blocks(ALICE.public, 1, 10)) == 3
            nursery.cancel_scope.cancel()


async def test_request_timeout_then_late_answer_is_no_fault_but_unsolicited_is() -> None:
    alice = make_service(ALICE)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice)
            stream, channel = await open_client(alice.listen_port, MALLORY)
            await wait_until(lambda: MALLORY.public in alice.peers)
            with pytest.raises(RequestTimeout):
                await alice.request_blocks(MALLORY.public, 7, 2, timeout=0.2)
            frames: list[Frame] = []
            while not frames:
                frames = [
                    f for f in channel.open(await stream.receive_some(70_000)) if f.type_id == 5
                ]
            request = decode_body(frames[0].type_id, frames[0].body)
            assert isinstance(request, BlockRequest) and (request.from_height, request.count) == (
                7,
                2,
            )

            late = BlockResponse(request.request_id, ((b"b", b"c"),))
            await stream.send_all(channel.seal(encode_frame(6, encode_body(late))))
            await trio.sleep(0.2)
            assert MALLORY.public in alice.peers and not alice.stats.peer_faults

            await stream.send_all(channel.seal(encode_frame(6, encode_body(late))))
            await wait_until(lambda: MALLORY.public not in alice.peers)
            assert alice.stats.peer_faults["malformed_frame"] == 1
            await stream.aclose()
            nursery.cancel_scope.cancel()


# ---------------------------------------------------------------- the protocol, no I/O

DAVE = KEYS[3]


def status(height: int) -> Status:
    return Status(height, 0, blake2b256(b"head %d" % height), GENESIS)


def block_at(height: int, salt: bytes = b"") -> Block:
    """A block that decodes (nothing here executes it: that is the node's part)."""
    h = blake2b256(b"%d" % height + salt)
    header = Header(height, 1000 * height, h, h, h, h, h, h, h, h, h, ALICE.public)
    return Block(header, (), None)


def entry(height: int) -> tuple[bytes, bytes]:
    block = block_at(height)
    return block.encode(), Commit(height, 0, block.hash, ()).encode()


def test_the_highest_peer_ahead_is_chosen_ties_to_the_lowest_key() -> None:
    statuses = [
        (DAVE.public, status(30)),
        (CAROL.public, None),  # connected, no status yet
        (BOB.public, status(30)),
        (ALICE.public, status(8)),  # behind us
    ]
    first = min(DAVE.public, BOB.public)
    assert choose_peer(statuses, 10, stalled=False) == SyncTarget(first, 30)
    assert choose_peer(list(reversed(statuses)), 10, stalled=False) == SyncTarget(first, 30)
    assert best_height(statuses) == 30
    assert choose_peer(statuses, 30, stalled=True) is None
    assert choose_peer([], 0, stalled=True) is None and best_height([]) == 0


def test_a_peer_one_block_ahead_is_followed_only_when_stalled() -> None:
    statuses = [(BOB.public, status(11))]
    assert choose_peer(statuses, 10, stalled=False) is None
    assert choose_peer(statuses, 10, stalled=True) == SyncTarget(BOB.public, 11)
    two_ahead = [(BOB.public, status(12))]
    assert choose_peer(two_ahead, 10, stalled=False) == SyncTarget(BOB.public, 12)


def test_requests_are_bounded_by_batch_target_and_wire_limit() -> None:
    assert next_request(0, 1000) == BlockRange(1, SYNC_BATCH)
    assert next_request(10, 15) == BlockRange(11, 5)
    assert next_request(10, 11, batch=1) == BlockRange(11, 1)
    assert next_request(10, 1000, batch=MAX_BLOCKS_PER_REQUEST) == BlockRange(
        11, MAX_BLOCKS_PER_REQUEST
    )
    assert next_request(15, 15) is None and next_request(16, 15) is None
    for bad in (0, MAX_BLOCKS_PER_REQUEST + 1):
        with pytest.raises(ValueError, match="batch"):
            next_request(0, 10, batch=bad)
    with pytest.raises(ValueError, match="height"):
        next_request(-1, 10)


def test_a_reply_that_is_what_was_asked_for_is_accepted() -> None:
    request = BlockRange(5, 3)
    synced = check_reply(request, [entry(5), entry(6), entry(7)])
    assert [s.height for s in synced] == [5, 6, 7]
    assert [s.commit.block_hash for s in synced] == [s.block.hash for s in synced]
    assert synced[0].block == block_at(5)
    # fewer than asked (the peer has no more) and nothing at all are answers too
    assert [s.height for s in check_reply(request, [entry(5)])] == [5]
    assert check_reply(request, []) == []


def _other_commit(height: int) -> tuple[bytes, bytes]:
    block = block_at(height)
    return block.encode(), Commit(height, 0, block_at(height, b"other").hash, ()).encode()


def _commit_of_another_height(height: int) -> tuple[bytes, bytes]:
    block = block_at(height)
    return block.encode(), Commit(height + 1, 0, block.hash, ()).encode()


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        ([entry(5), entry(6), entry(7), entry(8)], "asked for 3 blocks, got 4"),
        ([entry(6)], "expected block 5, got 6"),
        ([entry(5), entry(7)], "expected block 6, got 7"),
        ([entry(5), entry(5)], "expected block 6, got 5"),
        ([_other_commit(5)], "block 5: the commit is for another block"),
        ([_commit_of_another_height(5)], "block 5: the commit is for another block"),
        ([(b"\xc1", entry(5)[1])], "block 5: "),
        ([(entry(5)[0], b"\x93\x01")], "block 5: "),
    ],
    ids=[
        "too-many",
        "wrong-start",
        "gap",
        "repeat",
        "commit-for-another-block",
        "commit-for-another-height",
        "undecodable-block",
        "undecodable-commit",
    ],
)
def test_a_reply_that_is_not_what_was_asked_for_is_refused(
    entries: list[tuple[bytes, bytes]], error: str
) -> None:
    with pytest.raises(BadSyncReply, match=error):
        check_reply(BlockRange(5, 3), entries)


async def test_fetch_asks_one_peer_and_checks_its_answer_over_tcp() -> None:
    served = {h: entry(h) for h in range(1, 41)}

    def honest(from_height: int, count: int) -> list[tuple[bytes, bytes]]:
        return [served[h] for h in range(from_height, from_height + count) if h in served]

    def liar(from_height: int, count: int) -> list[tuple[bytes, bytes]]:
        return honest(from_height + 1, count)  # one height off

    alice = make_service(ALICE, serve_blocks=honest)
    carol = make_service(CAROL, serve_blocks=liar)
    bob = make_service(BOB)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, carol, bob)
            await connect(bob, alice, carol)
            alice.set_status(status(40))
            carol.set_status(status(40))
            await wait_until(lambda: all(s is not None for _, s in peer_statuses(bob)))
            target = choose_peer(peer_statuses(bob), 0, stalled=False)
            assert target == SyncTarget(min(ALICE.public, CAROL.public), 40)

            request = next_request(0, 40)
            assert request == BlockRange(1, SYNC_BATCH)
            synced = await fetch(bob, ALICE.public, request)
            assert [s.height for s in synced] == list(range(1, SYNC_BATCH + 1))
            last = next_request(SYNC_BATCH, 40)
            assert last == BlockRange(SYNC_BATCH + 1, 40 - SYNC_BATCH)
            assert [s.height for s in await fetch(bob, ALICE.public, last)][-1] == 40
            assert await fetch(bob, ALICE.public, BlockRange(41, 5)) == []

            with pytest.raises(BadSyncReply, match="expected block 1, got 2"):
                await fetch(bob, CAROL.public, request)
            with pytest.raises(PeerUnavailable):
                await fetch(bob, DAVE.public, request)
            nursery.cancel_scope.cancel()
