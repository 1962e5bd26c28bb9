"""Handshake admission and sampled refusal logs, without I/O; their settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.daemon.config import ConfigError, NodeConfig, P2PSection, load_config
from p2p.admission import (
    BUSY,
    IP_LIMIT,
    Admission,
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


def take(admission: HandshakeAdmission, group: str, known: bool = False) -> int:
    """Admit a connection that then speaks at once (as a real peer does): its ticket."""
    granted = admission.admit(group, known)
    assert granted.ticket is not None and granted.evicted is None, granted
    admission.spoke(granted.ticket)
    return granted.ticket


def test_one_address_holds_at_most_per_ip_slots() -> None:
    admission = HandshakeAdmission(capacity=8, per_ip=2, reserved=0)
    first = take(admission, "10.0.0.1")
    take(admission, "10.0.0.1")
    assert admission.admit("10.0.0.1", known=False) == Admission(None, IP_LIMIT)
    take(admission, "10.0.0.2")
    assert admission.pending == 3 and admission.held_by("10.0.0.1") == 2 and len(admission) == 2
    assert admission.release(first)
    assert not admission.release(first)  # once only
    take(admission, "10.0.0.1")  # the freed slot, taken again
    # Known addresses are capped too: one address never holds everything.
    assert admission.admit("10.0.0.1", known=True).refusal == IP_LIMIT


def test_strangers_cannot_take_the_reserved_slots() -> None:
    admission = HandshakeAdmission(capacity=6, per_ip=2, reserved=2)
    tickets = [take(admission, f"10.0.0.{i // 2}") for i in range(4)]
    assert admission.admit("10.0.0.9", known=False).refusal == BUSY  # the reserved two remain
    validator = take(admission, "192.0.2.1", known=True)  # a validator's address
    take(admission, "192.0.2.2", known=True)
    assert admission.admit("192.0.2.3", known=True).refusal == BUSY  # now truly full
    admission.release(tickets[0])
    admission.release(validator)
    assert admission.admit("10.0.0.9", known=False).refusal == BUSY  # 4 held: 6 - 2 for strangers
    admission.release(tickets[2])
    take(admission, "10.0.0.9")


def test_a_silent_connection_gives_its_slot_to_a_newcomer_from_its_address() -> None:
    admission = HandshakeAdmission(capacity=8, per_ip=2)
    squatters = [admission.admit("10.0.0.1", known=False).ticket or 0 for _ in range(2)]
    assert admission.silent() == 2 and 0 not in squatters
    # The same address again: the oldest silent one is evicted, not the newcomer refused.
    newcomer = admission.admit("10.0.0.1", known=False)
    assert newcomer.ticket is not None and newcomer.evicted == squatters[0]
    assert admission.held_by("10.0.0.1") == 2 and admission.pending == 2
    assert not admission.release(squatters[0])  # its slot is gone already
    admission.spoke(newcomer.ticket)  # a real peer: its first message arrived
    second = admission.admit("10.0.0.1", known=False)
    assert second.evicted == squatters[1]
    third = admission.admit("10.0.0.1", known=False)
    assert third.evicted == second.ticket  # the one that spoke keeps its slot
    assert third.ticket is not None
    admission.spoke(third.ticket)
    assert admission.admit("10.0.0.1", known=False) == Admission(None, IP_LIMIT)  # all spoke


def test_when_the_pool_is_full_silent_strangers_go_first() -> None:
    admission = HandshakeAdmission(capacity=4, per_ip=4, reserved=1)
    silent_known = admission.admit("192.0.2.1", known=True).ticket
    speaking = take(admission, "10.0.0.1")
    silent_stranger = admission.admit("10.0.0.2", known=False).ticket
    # 3 held = 4 - 1: a stranger takes the slot of the silent stranger, never the known one's.
    granted = admission.admit("10.0.0.3", known=False)
    assert granted.evicted == silent_stranger
    admission.spoke(granted.ticket or 0)
    assert admission.admit("10.0.0.4", known=False) == Admission(None, BUSY)
    # A known address uses the reserved slot, then may displace a silent known one.
    take(admission, "192.0.2.2", known=True)
    assert admission.admit("192.0.2.3", known=True).evicted == silent_known
    assert admission.release(speaking)


def test_admission_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="reserved"):
        HandshakeAdmission(capacity=2, per_ip=1, reserved=2)
    with pytest.raises(ValueError, match="positive"):
        HandshakeAdmission(capacity=0, per_ip=1)


@dataclass
class _Held:
    ticket: int
    group: str
    known: bool
    silent: bool = True


@given(
    st.lists(
        st.tuples(st.sampled_from(["arrive", "speak", "leave"]), st.integers(0, 5), st.booleans()),
        min_size=1,
        max_size=200,
    )
)
def test_admission_follows_its_rules_for_any_sequence(steps: list[tuple[str, int, bool]]) -> None:
    """A model of the rules: caps per address and in all, reserved slots, oldest silent first."""
    capacity, per_ip, reserved = 7, 3, 2
    admission = HandshakeAdmission(capacity, per_ip, reserved)
    held: list[_Held] = []  # oldest first
    for action, index, known in steps:
        if action == "arrive" or not held:
            group = f"10.0.0.{index}"
            if sum(h.group == group for h in held) >= per_ip:
                victims = [h for h in held if h.silent and h.group == group]
                refusal = IP_LIMIT
            elif len(held) >= (capacity if known else capacity - reserved):
                victims = [h for h in held if h.silent and not h.known]
                if known and not victims:
                    victims = [h for h in held if h.silent]
                refusal = BUSY
            else:
                victims, refusal = [], ""
            granted = admission.admit(group, known)
            if refusal and not victims:
                assert granted == Admission(None, refusal)
                continue
            assert granted.ticket is not None
            assert granted.evicted == (victims[0].ticket if victims else None)
            if victims:
                held.remove(victims[0])
            held.append(_Held(granted.ticket, group, known))
        elif action == "speak":
            target = held[index % len(held)]
            admission.spoke(target.ticket)
            target.silent = False
        else:
            assert admission.release(held.pop(index % len(held)).ticket)
        assert admission.pending == len(held) <= capacity
        assert admission.silent() == sum(h.silent for h in held)
        assert all(
            admission.held_by(h.group) == sum(g.group == h.group for g in held) for h in held
        )
        assert all(admission.held_by(h.group) <= per_ip for h in held)


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
