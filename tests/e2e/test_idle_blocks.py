"""Blocks when there is work: an idle localnet makes heartbeat blocks only, a transfer one at once.

Real processes (4 validators, LevelDB on disk, TCP on 127.0.0.1). An idle
chain makes a block per ``create_empty_blocks_interval_ms`` (the heartbeat
that moves block time), so an idle window of W seconds holds at most
W / interval + 2 blocks (one heartbeat may be under way at each end). A
transfer submitted to an idle chain starts the next block at once: with a
30 s heartbeat it is final long before the heartbeat would have made a
block. Timings are generous bounds that only the feature can meet (the
figures are measured by scripts/bench_idle.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.crypto import Keypair, encode_address
from node.cli.localnet import LOCALNET_EMPTY_BLOCKS_INTERVAL_MS, set_empty_blocks
from node.daemon.config import load_config
from tests.e2e.cluster import Cluster, running_cluster

ALICE, BOB = Keypair.dev("alice"), Keypair.dev("bob")
IDLE_WINDOW_S = 20.0
LONG_HEARTBEAT_MS = 30_000


def _block_time_ms(cluster: Cluster, height: int) -> int:
    client = cluster.clients[0]
    block_hash = client.block_hash(height)
    assert block_hash is not None
    header = client.get_header(block_hash)
    assert header is not None
    return int(header["timestamp"])


def _idle_window(cluster: Cluster) -> tuple[int, int]:
    """Heights on node0 at the start and end of an idle window of IDLE_WINDOW_S."""
    before = cluster.height(0)
    assert before is not None
    time.sleep(IDLE_WINDOW_S)
    after = cluster.height(0)
    assert after is not None
    return before, after


@pytest.fixture(scope="module")
def localnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A localnet as `credichain localnet` makes it (its default heartbeat)."""
    with running_cluster(Path(tmp_path_factory.mktemp("idle-localnet"))) as net:
        yield net


def test_an_idle_localnet_makes_only_heartbeat_blocks_and_block_time_moves(
    localnet: Cluster,
) -> None:
    config = load_config(localnet.homes[0] / "config.toml").consensus
    assert config.create_empty_blocks is False
    interval_s = config.create_empty_blocks_interval_ms / 1000
    assert interval_s == LOCALNET_EMPTY_BLOCKS_INTERVAL_MS / 1000
    before, after = _idle_window(localnet)
    made = after - before
    assert made <= math.floor(IDLE_WINDOW_S / interval_s) + 2, made
    # The heartbeat keeps block time moving (review windows, governance rounds, epochs).
    assert made >= 2, made
    moved_ms = _block_time_ms(localnet, after) - _block_time_ms(localnet, before)
    assert moved_ms >= IDLE_WINDOW_S * 1000 / 2, moved_ms
    localnet.assert_agreement(min(h or 0 for h in localnet.heights()))


@pytest.fixture(scope="module")
def quiet_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A localnet whose heartbeat is LONG_HEARTBEAT_MS: a block there is work's doing."""
    net = Cluster(Path(tmp_path_factory.mktemp("idle-quiet")))
    set_empty_blocks(net.homes, create=False, interval_ms=LONG_HEARTBEAT_MS)
    net.start()
    try:
        net.wait_height(1, timeout=90)  # height 1 starts at once; 2 waits for work
        yield net
    finally:
        net.stop()


def test_a_transfer_to_an_idle_chain_is_final_at_once_not_at_the_heartbeat(
    quiet_net: Cluster,
) -> None:
    before, after = _idle_window(quiet_net)
    assert after - before <= math.floor(IDLE_WINDOW_S * 1000 / LONG_HEARTBEAT_MS) + 2
    height = quiet_net.height(1)
    assert height is not None
    nonce = quiet_net.clients[1].next_index(encode_address(ALICE.public))
    submitted = time.monotonic()
    tx_hash = quiet_net.transfer(1, ALICE, BOB.public, 5_000, nonce=nonce)
    quiet_net.wait_for(
        "the lone transfer on all four nodes",
        lambda: quiet_net.receipt_everywhere(tx_hash),
        timeout=LONG_HEARTBEAT_MS / 1000,
    )
    waited = time.monotonic() - submitted
    # Generous: a busy block interval plus the propose time is well under a second
    # (scripts/bench_idle.py); the heartbeat would have come after 30 s.
    assert waited < LONG_HEARTBEAT_MS / 1000 / 3, waited
    receipt = quiet_net.clients[0].receipt(tx_hash)
    assert receipt is not None and receipt["success"]
    top = min(h or 0 for h in quiet_net.heights())
    quiet_net.assert_agreement(top)
