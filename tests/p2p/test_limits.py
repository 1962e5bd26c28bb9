"""Bounded bookkeeping: seen sets, token buckets, fault scores and bans."""

from __future__ import annotations

import pytest

from p2p.config import P2PConfig, PeerAddress
from p2p.limits import PeerScores, SeenSet, TokenBucket
from tests.p2p.helpers import KEYS


def test_seen_set_is_bounded_and_forgets_the_oldest() -> None:
    seen = SeenSet(3)
    assert [seen.add(k) for k in (b"a", b"b", b"c")] == [True, True, True]
    assert not seen.add(b"a")  # touching "a" makes "b" the oldest
    assert seen.add(b"d")
    assert len(seen) == 3
    assert b"b" not in seen
    assert all(k in seen for k in (b"a", b"c", b"d"))
    with pytest.raises(ValueError, match="capacity"):
        SeenSet(0)


def test_token_bucket_allows_bursts_then_charges_waits() -> None:
    bucket = TokenBucket(rate=10.0, burst=20.0, now=0.0)
    assert bucket.take(20, now=0.0) == 0.0
    assert bucket.take(5, now=0.0) == pytest.approx(0.5)  # 5 tokens of debt at 10/s
    assert bucket.take(1, now=1.0) == 0.0  # refilled 10, debt paid, 4 left
    assert bucket.available(now=1.0) == pytest.approx(4.0)
    assert bucket.available(now=100.0) == pytest.approx(20.0)  # capped at the burst
    with pytest.raises(ValueError, match="negative"):
        bucket.take(-1, now=100.0)
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0, burst=1, now=0)


def test_scores_decay_and_ban_for_a_while() -> None:
    scores = PeerScores(ban_threshold=100, decay_per_second=1, ban_seconds=60)
    peer = KEYS[0].public
    assert not scores.penalize(peer, 50, now=0.0)
    assert scores.points(peer, now=10.0) == pytest.approx(40.0)
    assert not scores.penalize(peer, 50, now=10.0)  # 90 < 100 thanks to decay
    assert scores.penalize(peer, 50, now=10.0)
    assert scores.is_banned(peer, now=69.0)
    assert not scores.is_banned(peer, now=70.5)
    assert not scores.is_banned(KEYS[1].public, now=0.0)
    scores.penalize(peer, 200, now=100.0)
    scores.unban(peer)
    assert not scores.is_banned(peer, now=100.0)


def test_peer_address_parses_the_node_config_form() -> None:
    key = KEYS[0].public
    address = PeerAddress.parse(f"{key.hex()}@10.0.0.1:30333")
    assert address == PeerAddress(key, "10.0.0.1", 30333)
    assert PeerAddress.parse(str(address)) == address
    v6 = PeerAddress.parse(f"{key.hex()}@[::1]:1")
    assert v6.host == "::1"
    assert PeerAddress.parse(str(v6)) == v6
    for bad, match in [
        ("nokey", "expected PUBKEYHEX"),
        ("zz@h:1", "not hex"),
        (f"{key.hex()}@host", "host:port"),
        (f"{key.hex()[:10]}@h:1", "32 bytes"),
        (f"{key.hex()}@h:70000", "port"),
    ]:
        with pytest.raises(ValueError, match=match):
            PeerAddress.parse(bad)


def test_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_peers must be positive"):
        P2PConfig(max_peers=0)
    with pytest.raises(ValueError, match="reconnect_min"):
        P2PConfig(reconnect_min=5, reconnect_max=1)
