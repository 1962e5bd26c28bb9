"""A 4-validator localnet of real processes on 127.0.0.1: agreement, transfers, faults.

The tests share one network (starting it costs seconds) and run in file
order; each leaves all four validators running, so each can also run alone.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.crypto import Keypair, encode_address
from tests.e2e.cluster import Cluster, running_cluster

ALICE, BOB, CHARLIE = Keypair.dev("alice"), Keypair.dev("bob"), Keypair.dev("charlie")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(Path(tmp_path_factory.mktemp("localnet"))) as net:
        yield net


def _ensure_all_running(cluster: Cluster) -> None:
    for node in cluster.nodes:
        if not node.running:
            node.start()
    top = max(h or 0 for h in cluster.heights())
    cluster.wait_height(top + 1, timeout=90)


def test_four_validators_reach_height_20_and_agree_with_transfers(cluster: Cluster) -> None:
    nonce = cluster.clients[0].next_index(encode_address(ALICE.public))
    hashes = [cluster.transfer(0, ALICE, BOB.public, 2_000 + i, nonce=nonce + i) for i in range(10)]
    cluster.wait_height(20, timeout=120)
    cluster.wait_for(
        "transfers on all four nodes", lambda: all(cluster.receipt_everywhere(h) for h in hashes)
    )
    top = min(h or 0 for h in cluster.heights())
    cluster.assert_agreement(top)
    receipts = [cluster.clients[3].receipt(h) for h in hashes]
    assert all(r is not None and r["success"] for r in receipts)


def test_garbage_and_unknown_peers_are_refused_while_the_chain_moves(cluster: Cluster) -> None:
    start = max(h or 0 for h in cluster.heights())
    p2p_port = cluster.ports.p2p
    for payload in (os.urandom(4096), b"\xff" * 70_000, b"\x00\x00"):
        with socket.create_connection(("127.0.0.1", p2p_port), timeout=5) as sock:
            sock.sendall(payload)
            sock.settimeout(5)
            try:
                while sock.recv(65536):
                    pass  # the node answers with its handshake, then closes on garbage
            except (TimeoutError, ConnectionResetError):
                pass
    cluster.wait_height(start + 3)
    assert all(node.running for node in cluster.nodes)


def test_kill9_one_validator_then_it_syncs_and_agrees(cluster: Cluster) -> None:
    victim = cluster.nodes[3]
    victim.kill()
    before = max(cluster.heights([0, 1, 2]), key=lambda h: h or 0) or 0
    cluster.wait_height(before + 5, [0, 1, 2])
    tx = cluster.transfer(1, BOB, CHARLIE.public, 777)
    victim.start()
    target = max(h or 0 for h in cluster.heights([0, 1, 2])) + 3
    cluster.wait_height(target, timeout=90)
    cluster.wait_for("the transfer on the restarted node", lambda: cluster.receipt_everywhere(tx))
    cluster.assert_agreement(target)
    cluster.assert_no_equivocation(target)
    assert "refused to double-sign" not in victim.log_path.read_text()


def test_kill9_two_of_four_halts_then_resumes_without_loss(cluster: Cluster) -> None:
    _ensure_all_running(cluster)
    tx = cluster.transfer(0, CHARLIE, ALICE.public, 4242)
    cluster.wait_for("the transfer committed", lambda: cluster.receipt_everywhere(tx))
    cluster.nodes[2].kill()
    cluster.nodes[3].kill()
    time.sleep(2)  # let the last in-flight height finish
    stalled = cluster.heights([0, 1])
    time.sleep(4)
    assert cluster.heights([0, 1]) == stalled, "2 of 4 validators must not make progress"
    cluster.nodes[3].start()
    top = max(h or 0 for h in stalled) + 3
    cluster.wait_height(top, [0, 1, 3], timeout=90)
    cluster.nodes[2].start()
    cluster.wait_height(top + 1, timeout=90)
    assert cluster.receipt_everywhere(tx)
    cluster.assert_agreement(top)


def test_sigstop_a_validator_for_10s_then_it_catches_up(cluster: Cluster) -> None:
    _ensure_all_running(cluster)
    paused = cluster.nodes[1]
    paused.signal(signal.SIGSTOP)
    try:
        start = max(h or 0 for h in cluster.heights([0, 2, 3]))
        time.sleep(10)
        cluster.wait_height(start + 5, [0, 2, 3])
    finally:
        paused.signal(signal.SIGCONT)
    target = max(h or 0 for h in cluster.heights([0, 2, 3])) + 2
    cluster.wait_height(target, timeout=90)
    cluster.assert_agreement(target)
