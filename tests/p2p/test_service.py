"""P2PService over real TCP on 127.0.0.1: connect, refuse, gossip, survive bad peers."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
import trio

from ledger.crypto import Keypair, blake2b256
from ledger.types import Proposal as LedgerProposal
from ledger.types import Vote as LedgerVote
from ledger.types import VoteType
from p2p.framing import RecordDecoder, encode_frame, encode_record
from p2p.handshake import HandshakeError, identity_payload
from p2p.messages import (
    Extrinsics,
    Have,
    Message,
    MessageType,
    Proposal,
    Status,
    Vote,
    encode_body,
    gossip_key,
)
from p2p.service import P2PService
from tests.p2p.helpers import (
    FAST,
    GENESIS,
    KEYS,
    MALLORY,
    OTHER_GENESIS,
    RawInitiator,
    address_of,
    connect,
    make_service,
    open_client,
    raw_third_answer,
    read_record,
    start,
    wait_until,
)

ALICE, BOB, CAROL, DAVE = KEYS[:4]


def vote(n: int, key: int = 0) -> Vote:
    return Vote(
        LedgerVote.create(
            KEYS[key], GENESIS, VoteType.PREVOTE, n, 0, blake2b256(n.to_bytes(8, "big")), n
        )
    )


async def collect(
    service: P2PService, into: list[tuple[bytes, Message]], relay: bool = False
) -> None:
    async for peer, message in service.inbound:
        into.append((peer, message))
        if relay and isinstance(message, (Vote, Proposal, Extrinsics)):
            service.broadcast(message)


# ---------------------------------------------------------------- two peers


async def test_two_services_connect_and_exchange_messages() -> None:
    alice, bob = make_service(ALICE), make_service(BOB)
    got_a: list[tuple[bytes, Message]] = []
    got_b: list[tuple[bytes, Message]] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, bob)
            nursery.start_soon(collect, alice, got_a)
            nursery.start_soon(collect, bob, got_b)
            await connect(bob, alice)
            assert alice.connected_peers() == [BOB.public]

            status = Status(4, 1, blake2b256(b"h4"), GENESIS)
            assert alice.set_status(status) == 1
            await wait_until(lambda: bob.peer_status(ALICE.public) == status)
            assert bob.peers_behind(4, 2) == [ALICE.public]
            assert bob.peers_behind(4, 1) == []

            assert alice.broadcast(vote(1)) == 1
            assert alice.broadcast(vote(1)) == 0  # bob has it: never sent twice
            assert alice.send(BOB.public, vote(1)) is False
            assert alice.send(BOB.public, vote(1), force=True) is True
            batch = Extrinsics((b"\x01tx-a", b"\x01tx-b"))
            assert bob.broadcast(batch) == 1
            await wait_until(lambda: len(got_a) == 1 and len(got_b) == 2)
            assert got_b[0] == (ALICE.public, status)
            assert got_b[1] == (ALICE.public, vote(1))  # the forced copy is not re-delivered
            assert got_a == [(BOB.public, batch)]
            await wait_until(lambda: bob.stats.duplicates_in == 1)
            # alice already has both extrinsics (bob sent them): a relay sends nothing back
            assert alice.broadcast(batch) == 0
            assert alice.stats.messages_out["VOTE"] == 2
            assert bob.stats.messages_in["VOTE"] == 2
            assert alice.stats.bytes_out > 0 and bob.stats.bytes_in > 0
            nursery.cancel_scope.cancel()


async def test_simultaneous_dials_converge_to_one_connection() -> None:
    alice, bob = make_service(ALICE), make_service(BOB)
    got: list[tuple[bytes, Message]] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, bob)
            nursery.start_soon(collect, bob, got)
            alice.add_peer(address_of(bob))
            bob.add_peer(address_of(alice))
            await wait_until(lambda: ALICE.public in bob.peers and BOB.public in alice.peers)
            await trio.sleep(1.0)
            assert alice.connected_peers() == [BOB.public]
            assert bob.connected_peers() == [ALICE.public]
            # the survivor is the same socket on both sides: initiated by the lower key
            lower_dialled = ALICE.public < BOB.public
            assert alice.peers[BOB.public].initiator == lower_dialled
            assert bob.peers[ALICE.public].initiator != lower_dialled
            connects = alice.stats.connects
            await trio.sleep(0.5)
            assert alice.stats.connects == connects  # stable, no churn
            alice.broadcast(vote(2))
            await wait_until(lambda: len(got) == 1)
            nursery.cancel_scope.cancel()


async def test_dialer_reconnects_after_the_peer_restarts() -> None:
    bob = make_service(BOB)
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            await start(nursery, bob)
            alice = make_service(ALICE)
            alice_scope = trio.CancelScope()
            nursery.start_soon(_run_in, alice, alice_scope)
            await wait_until(lambda: alice.listen_port != 0)
            await connect(bob, alice)
            port = alice.listen_port
            alice_scope.cancel()
            await wait_until(lambda: not bob.peers)
            again = P2PService(
                identity=ALICE,
                genesis_hash=GENESIS,
                allow=alice.allow,
                listen_port=port,
                config=FAST,
            )
            await nursery.start(again.run)
            await wait_until(lambda: ALICE.public in bob.peers, timeout=10)
            assert bob.stats.connects == 2
            nursery.cancel_scope.cancel()


async def _run_in(service: P2PService, scope: trio.CancelScope) -> None:
    with scope:
        await service.run()


async def test_allowlist_refresh_disconnects_and_keeps_refusing() -> None:
    allowed = {ALICE.public, BOB.public}
    alice = P2PService(
        identity=ALICE, genesis_hash=GENESIS, allow=allowed.__contains__, config=FAST
    )
    bob = make_service(BOB)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, bob)
            await connect(bob, alice)
            allowed.discard(BOB.public)
            assert alice.refresh_allowlist() == [BOB.public]
            await wait_until(lambda: alice.stats.handshake_failures["not_allowed"] >= 1)
            assert not alice.peers
            nursery.cancel_scope.cancel()


# ---------------------------------------------------------------- refusals over TCP


async def _refused(service: P2PService, reason: str) -> None:
    await wait_until(lambda: service.stats.handshake_failures[reason] >= 1)
    assert not service.peers
    assert service.stats.handshakes_ok == 0


@pytest.mark.parametrize(
    ("dialer_key", "dialer_genesis", "reason"),
    [(MALLORY, GENESIS, "not_allowed"), (BOB, OTHER_GENESIS, "genesis")],
)
async def test_unknown_keys_and_other_chains_are_refused(
    dialer_key: Keypair, dialer_genesis: bytes, reason: str
) -> None:
    alice = make_service(ALICE, allowed=KEYS[:4])
    intruder = make_service(dialer_key, genesis=dialer_genesis)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, intruder)
            intruder.add_peer(address_of(alice))
            await _refused(alice, reason)
            # the dialer learns of the refusal inside its handshake: never a peer, not even briefly
            await wait_until(lambda: intruder.stats.handshake_failures["closed"] >= 1)
            assert intruder.stats.connects == 0
            nursery.cancel_scope.cancel()


async def _raw_exchange(port: int, messages: list[bytes]) -> list[bytes | None]:
    """Send each handshake message as a record and collect the server's answers."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    decoder = RecordDecoder()
    answers: list[bytes | None] = []
    async with stream:
        for message in messages:
            await stream.send_all(encode_record(message))
            answers.append(await read_record(stream, decoder))
    return answers


async def test_garbage_replay_bad_signature_low_order_and_silence_are_refused() -> None:
    alice = make_service(ALICE, config=replace(FAST, handshake_timeout=0.3))
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice)
            port = alice.listen_port

            # garbage: a record whose "ephemeral key" is followed by a non-msgpack payload
            assert await _raw_exchange(port, [os.urandom(32) + b"\xc1\xc1"]) == [None]
            await _refused(alice, "malformed")

            # replay: the same first message on a second connection is refused
            first = RawInitiator().first()
            (answer,) = await _raw_exchange(port, [first])
            assert answer is not None
            assert await _raw_exchange(port, [first]) == [None]
            await _refused(alice, "replay")

            # bad identity signature: a proof over another session's hash
            def other_session_proof(raw: RawInitiator) -> bytes:
                return identity_payload(BOB, b"I", GENESIS, raw.static.public, os.urandom(32))

            assert await raw_third_answer(port, other_session_proof) is None
            await _refused(alice, "bad_signature")

            # a low-order ephemeral key
            assert await _raw_exchange(port, [bytes(32) + first[32:]]) == [None]
            await _refused(alice, "low_order_key")

            # silence: the handshake times out
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                assert await stream.receive_some(100) == b""
            await _refused(alice, "timeout")
            nursery.cancel_scope.cancel()


# ---------------------------------------------------------------- gossip among four


async def test_full_mesh_of_four_delivers_each_message_once() -> None:
    services = [make_service(k) for k in (ALICE, BOB, CAROL, DAVE)]
    got: list[list[tuple[bytes, Message]]] = [[] for _ in services]
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await start(nursery, *services)
            for service, into in zip(services, got, strict=True):
                nursery.start_soon(collect, service, into, True)
            for i, service in enumerate(services):
                for other in services[i + 1 :]:
                    service.add_peer(address_of(other))
            await wait_until(lambda: all(len(s.peers) == 3 for s in services))

            votes = [vote(n) for n in range(1, 31)]
            for v in votes:
                assert services[0].broadcast(v) == 3
            txs = Extrinsics(tuple(f"tx-{n}".encode() for n in range(50)))
            services[2].broadcast(txs)

            def votes_delivered(i: int) -> list[Vote]:
                return [m for _, m in got[i] if isinstance(m, Vote)]

            def txs_delivered(i: int) -> list[bytes]:
                return [x for _, m in got[i] if isinstance(m, Extrinsics) for x in m.extrinsics]

            await wait_until(lambda: all(len(votes_delivered(i)) == 30 for i in (1, 2, 3)))
            await wait_until(lambda: all(len(txs_delivered(i)) == 50 for i in (0, 1, 3)))
            await trio.sleep(0.3)  # let any stray relays arrive
            for i in (1, 2, 3):
                assert sorted(votes_delivered(i), key=lambda v: v.vote.height) == votes
            for i in (0, 1, 3):
                assert sorted(txs_delivered(i)) == sorted(txs.extrinsics)
            assert votes_delivered(0) == [] and txs_delivered(2) == []
            for service in services:
                # a relay never goes back to a peer that has the item: at most once per link
                assert service.stats.messages_out["VOTE"] <= 30 * 3
            # the origin sent each vote to each peer exactly once
            assert services[0].stats.messages_out["VOTE"] == 90
            nursery.cancel_scope.cancel()


async def test_garbage_and_oversized_frames_disconnect_then_ban_while_others_work() -> None:
    services = [make_service(k) for k in (ALICE, BOB, CAROL)]
    got: list[tuple[bytes, Message]] = []
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            await start(nursery, *services)
            alice, bob, carol = services
            nursery.start_soon(collect, bob, got)
            nursery.start_soon(collect, carol, got)
            await connect(alice, bob, carol)

            # an authenticated peer announcing a vote of 1 MB
            stream, channel = await open_client(alice.listen_port, MALLORY)
            await wait_until(lambda: MALLORY.public in alice.peers)
            header = bytes([MessageType.VOTE]) + (1 << 20).to_bytes(4, "big")
            await stream.send_all(channel.seal(header))
            await wait_until(lambda: MALLORY.public not in alice.peers)
            assert alice.stats.peer_faults["oversized_frame"] == 1

            # the same identity again, now with bytes that fail authentication
            stream2, _ = await open_client(alice.listen_port, MALLORY)
            await wait_until(lambda: MALLORY.public in alice.peers)
            await stream2.send_all(encode_record(os.urandom(200)))
            await wait_until(lambda: MALLORY.public not in alice.peers)
            assert alice.stats.peer_faults["malformed_frame"] == 1

            # two faults reach the ban threshold: the third attempt is refused
            assert alice.scores.is_banned(MALLORY.public, trio.current_time())
            with pytest.raises(HandshakeError, match="closed the connection"):
                await open_client(alice.listen_port, MALLORY)
            assert alice.stats.handshake_failures["banned"] == 1

            # and the honest peers never noticed
            assert alice.broadcast(vote(9)) == 2
            await wait_until(lambda: len(got) == 2)
            for s in (stream, stream2):
                await s.aclose()
            nursery.cancel_scope.cancel()


async def test_a_stalled_peer_does_not_block_broadcast_to_the_others() -> None:
    config = replace(FAST, write_timeout=0.5, send_queue_bytes=2 << 20)
    alice = make_service(ALICE, config=config)
    bob, carol = make_service(BOB), make_service(CAROL)
    got: list[tuple[bytes, Message]] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice, bob, carol)
            nursery.start_soon(collect, bob, got)
            nursery.start_soon(collect, carol, got)
            await connect(alice, bob, carol)
            # mallory completes the handshake, then never reads again
            stalled, _ = await open_client(alice.listen_port, MALLORY, receive_buffer=4096)
            async with stalled:
                await wait_until(lambda: MALLORY.public in alice.peers)
                block = os.urandom(256 << 10)
                slowest_call = 0.0
                # 40 proposals of 256 KiB (10 MiB): far more than mallory's buffers and
                # queue hold. Each must reach bob and carol before the next is sent, so
                # the healthy peers are never the ones behind, however loaded the machine.
                for n in range(40):
                    proposal = LedgerProposal(n, 0, -1, blake2b256(block), ALICE.public, bytes(64))
                    before = trio.current_time()
                    alice.broadcast(Proposal(proposal, block + n.to_bytes(4, "big")))
                    slowest_call = max(slowest_call, trio.current_time() - before)
                    with trio.fail_after(10):
                        while len(got) < 2 * (n + 1):
                            await trio.sleep(0.005)
                await wait_until(lambda: MALLORY.public not in alice.peers, timeout=10)
                assert alice.stats.peer_faults["stalled"] == 1
                assert alice.stats.dropped_out > 0  # the queue filled before the stall timer
                assert slowest_call < 0.5, f"one broadcast call took {slowest_call:.2f}s"
                assert sorted(
                    m.proposal.height for _, m in got if isinstance(m, Proposal)
                ) == sorted(list(range(40)) * 2)
            nursery.cancel_scope.cancel()


async def test_inbound_rate_limit_have_hints_and_wrong_genesis_status() -> None:
    config = replace(FAST, recv_messages_per_second=100.0, recv_messages_burst=10.0)
    alice = make_service(ALICE, config=config)
    got: list[tuple[bytes, Message]] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start(nursery, alice)
            nursery.start_soon(collect, alice, got)
            stream, channel = await open_client(alice.listen_port, MALLORY)
            await wait_until(lambda: MALLORY.public in alice.peers)

            # a Have hint: alice will not send mallory a vote it says it has
            known = vote(3)
            have = Have((gossip_key(MessageType.VOTE, encode_body(known)),))
            await stream.send_all(channel.seal(encode_frame(have.TYPE, encode_body(have))))
            await wait_until(lambda: alice.stats.messages_in["HAVE"] == 1)
            assert alice.broadcast(known) == 0
            assert alice.broadcast(vote(4)) == 1

            # 40 statuses at once: 10 pass on the burst, the rest at 100/s
            started = trio.current_time()
            statuses = [Status(n, 0, GENESIS, GENESIS) for n in range(40)]
            frames = b"".join(encode_frame(s.TYPE, encode_body(s)) for s in statuses)
            await stream.send_all(channel.seal(frames))
            await wait_until(lambda: len(got) == 40)
            assert trio.current_time() - started >= 0.25
            assert [m for _, m in got] == statuses
            assert alice.peer_status(MALLORY.public) == statuses[-1]

            # a status for another chain is a fault
            wrong = Status(1, 0, GENESIS, OTHER_GENESIS)
            await stream.send_all(channel.seal(encode_frame(wrong.TYPE, encode_body(wrong))))
            await wait_until(lambda: MALLORY.public not in alice.peers)
            assert alice.stats.peer_faults["wrong_genesis"] == 1
            await stream.aclose()
            nursery.cancel_scope.cancel()
