"""Handshake admission and sampled refusal logs, without I/O; their settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.config import ConfigError, NodeConfig, P2PSection, load_config
from p2p.admission import (
    BUSY,
    IP_LIMIT,
    HandshakeAdmission,
    SampledLog,
    Suppressed,
    ip_group,
    is_ip_address,
)
from p2p.config import P2PConfig


def test_ip_groups_are_ipv4_addresses_and_ipv6_slash_64s() -> None:
    assert ip_group("10.0.0.1") == "10.0.0.1"
    assert ip_group("::ffff:10.0.0.1") == "10.0.0.1"  # an IPv4 client of a dual-stack socket
    assert ip_group("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert ip_group("2001:db8:1:2:bbbb::7") == ip_group("2001:db8:1:2:aaaa::1")
    assert ip_group("2001:db8:1:3::1") != ip_group("2001:db8:1:2::1")
    assert ip_group("fe80::1%eth0") == "fe80::/64"
    assert ip_group("?") == "?"
    assert is_ip_address("192.0.2.1") and is_ip_address("::1") and is_ip_address("fe80::1%eth0")
    assert not is_ip_address("validator-1.example.org") and not is_ip_address("?")


def test_one_address_holds_at_most_per_ip_slots() -> None:
    admission = HandshakeAdmission(capacity=8, per_ip=2, reserved=0)
    assert [admission.admit("10.0.0.1", known=False) for _ in range(3)] == [None, None, IP_LIMIT]
    assert admission.admit("10.0.0.2", known=False) is None
    assert admission.pending == 3 and admission.held_by("10.0.0.1") == 2 and len(admission) == 2
    admission.release("10.0.0.1")
    assert admission.admit("10.0.0.1", known=False) is None  # a slot freed, taken again
    # Known addresses are capped too: one address never holds everything.
    assert admission.admit("10.0.0.1", known=True) == IP_LIMIT


def test_strangers_cannot_take_the_reserved_slots() -> None:
    admission = HandshakeAdmission(capacity=6, per_ip=2, reserved=2)
    for i in range(2):
        assert admission.admit(f"10.0.0.{i}", known=False) is None
        assert admission.admit(f"10.0.0.{i}", known=False) is None
    assert admission.pending == 4
    assert admission.admit("10.0.0.9", known=False) == BUSY  # only the reserved two remain
    assert admission.admit("192.0.2.1", known=True) is None  # a validator's address
    assert admission.admit("192.0.2.2", known=True) is None
    assert admission.admit("192.0.2.3", known=True) == BUSY  # now truly full
    admission.release("10.0.0.0")
    admission.release("192.0.2.1")
    assert admission.admit("10.0.0.9", known=False) == BUSY  # 4 pending: 6 - 2 for strangers
    admission.release("10.0.0.1")
    assert admission.admit("10.0.0.9", known=False) is None


def test_release_without_a_slot_is_a_bug_and_limits_are_checked() -> None:
    admission = HandshakeAdmission(capacity=2, per_ip=1)
    with pytest.raises(RuntimeError, match="no handshake slot"):
        admission.release("10.0.0.1")
    with pytest.raises(ValueError, match="reserved"):
        HandshakeAdmission(capacity=2, per_ip=1, reserved=2)
    with pytest.raises(ValueError, match="positive"):
        HandshakeAdmission(capacity=0, per_ip=1)


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.booleans()), min_size=1, max_size=200)
)
def test_admission_bounds_hold_for_any_sequence(steps: list[tuple[bool, int, bool]]) -> None:
    """Whatever arrives and leaves: per-address, global and reserved bounds hold."""
    admission = HandshakeAdmission(capacity=7, per_ip=3, reserved=2)
    held: list[str] = []
    for arrive, address, known in steps:
        if arrive or not held:
            group = f"10.0.0.{address}"
            mine, limit = held.count(group), 7 if known else 7 - 2
            refusal = admission.admit(group, known)
            if mine >= 3:
                assert refusal == IP_LIMIT
            elif len(held) >= limit:
                assert refusal == BUSY  # strangers stop 2 short of the capacity
            else:
                assert refusal is None
                held.append(group)
        else:
            admission.release(held.pop(address % len(held)))
        assert admission.pending == len(held) <= 7
        assert all(admission.held_by(g) == held.count(g) <= 3 for g in held)


def test_sampled_log_logs_the_first_per_reason_then_summarises() -> None:
    sampled = SampledLog(interval=10.0)
    decisions = [sampled.note(IP_LIMIT, now=0.0 + i * 0.01) for i in range(500)]
    assert decisions[0] and not any(decisions[1:])
    assert sampled.note(BUSY, now=1.0)  # another reason has its own window
    assert sampled.due(now=9.0) == []  # nothing over yet
    assert sampled.due(now=10.0) == [Suppressed(IP_LIMIT, 499, 10.0)]
    assert sampled.due(now=11.0) == []  # busy had nothing unlogged: no summary
    # After the window, the next refusal is logged again.
    assert sampled.note(IP_LIMIT, now=12.0)
    assert not sampled.note(IP_LIMIT, now=13.0)
    # A new window opened by note() still reports the previous one's count.
    assert sampled.note(IP_LIMIT, now=22.5)
    assert sampled.due(now=22.5) == [Suppressed(IP_LIMIT, 1, 10.5)]
    with pytest.raises(ValueError, match="positive"):
        SampledLog(0)


def test_sampled_log_lines_stay_few_under_a_flood() -> None:
    """A refusal every millisecond for 60 s: about two lines per reason per interval."""
    sampled = SampledLog(interval=10.0)
    lines = 0
    for i in range(60_000):
        now = i / 1000
        lines += sampled.note(("ip_limit", "busy", "timeout")[i % 3], now)
        lines += len(sampled.due(now))
    assert lines <= 3 * 2 * 7


def test_p2p_config_checks_the_handshake_limits() -> None:
    config = P2PConfig()
    assert (config.max_pending_handshakes, config.max_pending_handshakes_per_ip) == (32, 4)
    assert (config.reserved_handshake_slots, config.handshake_timeout) == (8, 5.0)
    assert config.refusal_log_interval == 10.0
    assert P2PConfig(reserved_handshake_slots=0).reserved_handshake_slots == 0
    with pytest.raises(ValueError, match="reserved_handshake_slots must be below"):
        P2PConfig(max_pending_handshakes=8, reserved_handshake_slots=8)
    with pytest.raises(ValueError, match="per_ip exceeds"):
        P2PConfig(
            max_pending_handshakes=8, max_pending_handshakes_per_ip=9, reserved_handshake_slots=2
        )
    with pytest.raises(ValueError, match="max_pending_handshakes_per_ip must be positive"):
        P2PConfig(max_pending_handshakes_per_ip=0)
    with pytest.raises(ValueError, match="reserved_handshake_slots must be positive"):
        P2PConfig(reserved_handshake_slots=-1)


def test_the_node_config_file_sets_the_p2p_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert P2PSection().p2p_config() == P2PConfig()  # the same defaults on both sides
    path = tmp_path / "config.toml"
    path.write_text(
        "[p2p]\nhandshake_timeout_ms = 2500\nmax_pending_handshakes = 64\n"
        "max_pending_handshakes_per_ip = 2\nreserved_handshake_slots = 16\n"
        "refusal_log_interval_ms = 30000\nmax_peers = 20\n"
    )
    monkeypatch.setenv("CREDICHAIN_P2P__MAX_PENDING_HANDSHAKES_PER_IP", "3")
    p2p = load_config(path).p2p.p2p_config()
    assert (p2p.handshake_timeout, p2p.max_pending_handshakes, p2p.max_peers) == (2.5, 64, 20)
    assert p2p.max_pending_handshakes_per_ip == 3  # the environment wins
    assert (p2p.reserved_handshake_slots, p2p.refusal_log_interval) == (16, 30.0)
    path.write_text("[p2p]\nmax_pending_handshakes = 8\nreserved_handshake_slots = 8\n")
    with pytest.raises(ConfigError, match="reserved_handshake_slots must be below"):
        load_config(path)
    path.write_text("[p2p]\nhandshake_timeout_ms = 10\n")
    with pytest.raises(ConfigError, match=r"p2p\.handshake_timeout_ms"):
        load_config(path)
    assert NodeConfig().p2p.refusal_log_interval_ms == 10_000
