"""Block sync over real TCP: request/response, bounds, timeouts, late answers."""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio

from p2p.framing import Frame, encode_frame
from p2p.messages import BlockRequest, BlockResponse, decode_body, encode_body
from p2p.service import PeerUnavailable, RequestTimeout
from tests.p2p.helpers import (
    FAST,
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
