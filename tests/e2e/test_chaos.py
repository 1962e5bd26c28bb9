"""The fault runner (scripts/chaos.py): its proxy and schedule, then a short live profile.

The live profile runs a real 4-validator localnet behind the runner's proxy
for ``CREDICHAIN_CHAOS_SECONDS`` seconds of faults (default 60; about 90 s of
wall time in all) with a fixed seed, and requires every check of the runner
to pass: no lost acknowledged transfer, no divergent height, recovery after
every heal, a clean replay with invariants I1-I5.
"""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from scripts.chaos_lib.faults import CHEAP, KINDS, Fault, Injector, Planner, parse_kinds
from scripts.chaos_lib.net import ChaosNet
from scripts.chaos_lib.proxy import LinkPolicy, LinkProxy, Mode
from scripts.chaos_lib.runner import ChaosRunner, RunConfig

CHAOS_SECONDS = float(os.environ.get("CREDICHAIN_CHAOS_SECONDS", "60"))


# ---------------------------------------------------------------- the proxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def proxied() -> Iterator[tuple[LinkProxy, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = LinkProxy({(0, 1): server.server_address[1]}, seed=1)
    routes = proxy.start()
    try:
        yield proxy, routes[(0, 1)]
    finally:
        proxy.stop()
        server.shutdown()
        server.server_close()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.settimeout(2)
    return sock


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(10) == b""
    except (ConnectionResetError, TimeoutError):
        return True


def test_proxy_passes_bytes_then_drop_cuts_and_refuses(proxied: tuple[LinkProxy, int]) -> None:
    proxy, port = proxied
    with _connect(port) as sock:
        sock.sendall(b"ping")
        assert sock.recv(10) == b"ping"
        proxy.set_link(1, 0, LinkPolicy(Mode.DROP))
        assert _closed(sock)
    with _connect(port) as sock:  # accepted, then closed at once
        assert _closed(sock)
    proxy.heal()
    with _connect(port) as sock:
        sock.sendall(b"again")
        assert sock.recv(10) == b"again"
    assert proxy.stats.cuts >= 1 and proxy.stats.refused >= 1


def test_proxy_stall_holds_bytes_until_healed(proxied: tuple[LinkProxy, int]) -> None:
    proxy, port = proxied
    with _connect(port) as sock:
        proxy.set_link(0, 1, LinkPolicy(Mode.STALL))
        sock.sendall(b"held")
        sock.settimeout(0.4)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        proxy.heal()
        sock.settimeout(2)
        assert sock.recv(10) == b"held"


def test_proxy_delay_adds_latency_each_way(proxied: tuple[LinkProxy, int]) -> None:
    proxy, port = proxied
    proxy.set_link(0, 1, LinkPolicy(Mode.DELAY, delay_ms=150))
    with _connect(port) as sock:
        began = time.monotonic()
        sock.sendall(b"slow")
        assert sock.recv(10) == b"slow"
        assert time.monotonic() - began >= 0.3  # 150 ms there, 150 ms back


def test_link_policy_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="delay_ms"):
        LinkPolicy(Mode.DELAY, delay_ms=-1)
    with pytest.raises(ValueError, match="per-mille"):
        LinkPolicy(Mode.LOSSY, cut_per_mille=1001)


# ---------------------------------------------------------------- the schedule


def test_planner_is_seeded_and_deals_every_kind_once_per_round() -> None:
    one, two = Planner(KINDS, 42), Planner(KINDS, 42)
    assert [one.next().describe() for _ in range(20)] == [two.next().describe() for _ in range(20)]
    planner = Planner(KINDS, 7)
    faults = [planner.next() for _ in range(2 * len(KINDS))]
    assert sorted(f.kind for f in faults[: len(KINDS)]) == sorted(KINDS)
    assert sorted(f.kind for f in faults[len(KINDS) :]) == sorted(KINDS)
    other = Planner(KINDS, 8)
    assert [f.describe() for f in faults] != [other.next().describe() for _ in faults]


def test_parse_kinds_names_what_is_wrong() -> None:
    assert parse_kinds("cheap") == CHEAP
    assert parse_kinds("kill,pause,kill") == ("kill", "pause")
    with pytest.raises(ValueError, match=r"unknown kind.*'nuke'"):
        parse_kinds("kill,nuke")


def _links(fault: Fault, twin: bool = True) -> set[frozenset[int]]:
    fake = SimpleNamespace(count=4, twin_index=4, twin_of=3 if twin else None, twin=object())
    if not twin:
        fake.twin = None
    injector = Injector(cast(ChaosNet, fake), seed=1)
    return {frozenset(p) for p in injector._links(fault)}


def test_partition_patterns_cut_the_right_links() -> None:
    halves = Fault("partition", 0, 1.0, "halves", (frozenset({0, 1}), frozenset({2, 3})))
    assert _links(halves, twin=False) == {frozenset(p) for p in ((0, 2), (0, 3), (1, 2), (1, 3))}
    # The twin (index 4) stands on the side of the validator whose key it holds (3).
    assert _links(halves) >= {frozenset({0, 4}), frozenset({1, 4})}
    assert frozenset({2, 4}) not in _links(halves)
    alone = Fault("partition", 2, 1.0, "alone", (frozenset({2}), frozenset({0, 1, 3})))
    assert _links(alone, twin=False) == {frozenset({2, n}) for n in (0, 1, 3)}
    ring_sides = tuple(frozenset(p) for p in ((0, 1), (1, 2), (2, 3), (3, 0)))
    ring = Fault("partition", 0, 1.0, "ring", ring_sides)
    assert _links(ring, twin=False) == {frozenset({0, 2}), frozenset({1, 3})}
    slow = Fault("slow", 1, 1.0, policy=LinkPolicy(Mode.DELAY, 100))
    assert _links(slow, twin=False) == {frozenset({1, n}) for n in (0, 2, 3)}


# ---------------------------------------------------------------- the live profile


def test_short_chaos_profile_loses_nothing_and_agrees(tmp_path: Path) -> None:
    config = RunConfig(
        directory=tmp_path,
        duration=CHAOS_SECONDS,
        seed=1,
        kinds=CHEAP,
        accounts=16,
        rate=15.0,
        replay_homes="one",
        invariants_every=10,
    )
    lines: list[str] = []
    result = ChaosRunner(config, say=lines.append).run()
    log = "\n".join(lines)
    assert result.violations == [], log
    kinds: dict[str, Any] = result.by_kind()
    for kind in ("kill", "pause", "partition", "wal"):
        assert kinds.get(kind, 0) >= 1, f"no {kind} fault in the profile:\n{log}"
    assert result.lost_transfers == 0 and result.divergent_heights == 0
    assert result.info["bank"]["acknowledged"] > 100, log
    assert result.heights_compared > 20
    assert all(f.recovery_s is not None and f.catchup_s is not None for f in result.faults)
    assert result.info["replay"]["node0"]["verified"]
