"""The attack profile (scripts/attack.py, issue 17): its parts, then a short live profile.

The live profile runs all seven attacks against a real 4-validator localnet:
a baseline of 5 s and ``CREDICHAIN_ATTACK_SECONDS`` (default 6) of attack
each, about 2 minutes of wall time in all. It requires the runner to finish
every attack with every figure, and the node to hold up where the fixes of
issue 17 are in the tree (see ``FIXED`` and docs/reliability.md, "Attack
profile").
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import trio

from scripts.attack import table
from scripts.chaos_lib.attack_http import _label_reply
from scripts.chaos_lib.attack_kinds import ATTACKS, AttackSizes, parse_attacks
from scripts.chaos_lib.attack_runner import TARGET, AttackRunner, ProfileConfig
from scripts.chaos_lib.attack_traffic import SquatStats, Tally, Watch, squat

ATTACK_SECONDS = float(os.environ.get("CREDICHAIN_ATTACK_SECONDS", "6"))

# ---------------------------------------------------------------- the parts


def test_parse_attacks_names_what_is_wrong() -> None:
    assert parse_attacks("all") == tuple(ATTACKS)
    assert parse_attacks("slow_body, rpc_batch,slow_body") == ("slow_body", "rpc_batch")
    with pytest.raises(ValueError, match="unknown attack"):
        parse_attacks("rpc_batch,nuke")


def test_replies_are_counted_by_outcome() -> None:
    tally = Tally()
    batch = (
        b'[{"jsonrpc":"2.0","id":1,"result":"0x01"},'
        b'{"jsonrpc":"2.0","id":2,"error":{"code":1010,"message":"Invalid","data":"cannot pay"}}]'
    )
    items = _label_reply(200, batch, True, tally)
    assert items is not None and len(items) == 2
    whole = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}'
    assert _label_reply(413, whole, True, tally) is None
    assert _label_reply(200, b'[{"jsonrpc":"2.0","id":1,"result":"', False, tally) is None
    assert tally.outcomes == {
        "ok": 1,
        "error 1010 cannot pay": 1,
        "http 413 error -32600 Invalid request: ": 1,
        "ok (reply too large to parse)": 1,
    }


def test_a_watch_counts_the_heads_it_missed() -> None:
    watch = Watch(heads=[10, 11, 13, 16])
    assert watch.heads_missed() == 3
    assert not watch.finalized and watch.to_json()["heads_seen"] == 4


def test_squatters_reopen_what_the_server_closes_and_stop_in_time() -> None:
    """A server that closes every connection after 0.3 s: the squatters count the closes,
    reopen, and hold what is open when the window ends."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        held: list[tuple[socket.socket, float]] = []
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append((conn, time.monotonic()))
            except TimeoutError:
                pass  # no new connection in this tick: go on checking the held ones
            for conn, since in list(held):
                if time.monotonic() - since > 0.3:
                    conn.close()
                    held.remove((conn, since))
        for conn, _ in held:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    stats = SquatStats()
    began = time.monotonic()
    try:
        trio.run(squat, port, 4, b"", None, time.monotonic() + 2.0, stats, 100, ["127.0.0.2"])
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert time.monotonic() - began < 4
    assert stats.closed_by_node >= 4 and stats.opened == stats.closed_by_node + stats.held_at_end
    assert stats.to_json()["median_s_until_closed"] >= 0.25


# ---------------------------------------------------------------- the live profile

# What the node, with the fixes of issue 17 in the tree, holds under each attack on
# this 2-core machine (docs/reliability.md, "Attack profile"): the honest transfer
# is finalized and the watcher misses no head under all but the handshake attack
# (whose restarted validator must first rejoin), and the chain keeps >= 0.8 of its
# block rate under the unfunded flood, which the pool now refuses outright. The
# other ratios are measured and reported, not asserted: on two cores shared by the
# nodes, the attacker and other work they ranged from 0.5 to 1.0 from run to run
# (rpc_batch 0.54-0.77: batches of a cached document are priced by calls, not
# bytes; pending_pool 0.65-0.90: a batch over the cost limit is refused before the
# connection's budget is looked at, so refusals come as fast as the node parses).
FIXED_RATIO = ("unfunded_flood",)
FIXED_WATCH = tuple(name for name in ATTACKS if name != "handshake_slots")


def test_short_attack_profile_measures_every_attack(tmp_path: Path) -> None:
    config = ProfileConfig(
        directory=tmp_path,
        attacks=tuple(ATTACKS),
        seed=1,
        baseline=5.0,
        duration=ATTACK_SECONDS,
        recovery_limit=15.0,
        watch_timeout=15.0,
        sizes=AttackSizes(slow_conns=200),
    )
    lines: list[str] = []
    began = time.monotonic()
    result = AttackRunner(config, say=lines.append).run()
    log = "\n".join(lines + table(result))
    assert time.monotonic() - began < 300, log
    assert [r.name for r in result.attacks] == list(ATTACKS), log
    by_name = {r.name: r for r in result.attacks}
    for r in result.attacks:
        # Every figure, for every attack: the runner never gives up on one.
        assert r.error is None, log
        assert r.baseline_rate > 1.0 and r.window_s >= ATTACK_SECONDS, log
        assert r.ratio is not None and r.expected > 0, log
        assert r.rss_growth_mib is not None and len(r.rss_peak_mib) == 4, log
        assert {"finalized", "error", "heads_seen", "heads_missed"} <= r.watch.keys(), log
        assert r.details, log
    for name in FIXED_WATCH:
        r = by_name[name]
        assert r.watched_finalized, f"{name}: {r.watch}\n{log}"
        assert r.watch["heads_missed"] == 0, f"{name}: {r.watch}\n{log}"
    for name in FIXED_RATIO:
        r = by_name[name]
        assert r.ratio is not None and r.ratio >= TARGET, f"{name}: ratio {r.ratio}\n{log}"
        assert r.recovery_s is not None, f"{name} did not recover\n{log}"
        assert not r.nodes_exited, f"{name}: {r.nodes_exited}\n{log}"
    unfunded = by_name["unfunded_flood"].details["replies"]["outcomes"]
    assert not unfunded.get("ok"), f"the pool took unfunded extrinsics: {unfunded}"
    assert by_name["block_burst"].details["largest_block_extrinsics"] > 128, log
