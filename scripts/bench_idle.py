"""What an idle chain costs: blocks, bytes, finality of a lone transfer, replay of a day.

    .venv/bin/python scripts/bench_idle.py                       # 60 s idle window per setting
    .venv/bin/python scripts/bench_idle.py --window 20 --samples 3

For each setting it starts a fresh 4-validator localnet (separate processes,
free ports on 127.0.0.1) and, once at height 2, leaves it idle for
``--window`` seconds, then:

* counts the blocks made in the window and the growth of node0's ``data/``
  directory (LevelDB store and consensus WAL, ``du``-style: allocated
  bytes) and the bytes node0's process wrote to storage (``write_bytes`` of
  ``/proc/PID/io``), and extrapolates all three to an idle hour;
* on the settings that wait for work, submits ``--samples`` lone transfers,
  each after a random part of a heartbeat interval has passed idle, and
  measures submission to receipt (the block that holds it is final: one-slot
  finality);
* stops the network, reads node0's store by kind (``credichain node du``:
  bytes per block and per state version), and replays node0's whole chain (``Replayer``, every
  check, invariants every block, 2 verification threads), and extrapolates
  the replay time per block to an idle day of that setting.

Settings: ``--intervals`` (heartbeat ms, create_empty_blocks = false; default
the localnet's 1 000 and the production default 10 000) and ``always``
(create_empty_blocks = true: a block every ``block_interval_ms``, the
behaviour before; also the cadence of a busy chain, whose block interval is
the finality target of a lone transfer). Every extrapolated figure says so.
Figures depend on the machine and its load; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog

from ledger.crypto import Keypair, encode_address
from ledger.types import Call, Extrinsic
from node.audit.export import HomeSource
from node.audit.replay import Replayer
from node.cli.localnet import free_ports, prepare_localnet, set_empty_blocks
from node.daemon.config import load_config
from node.daemon.storage import store_usage
from node.testing.procs import NodeProcess, stop_all
from rpc.client import RpcClient, RpcConnectionError, RpcError

VALIDATORS = 4
HOUR, DAY = 3600.0, 86_400.0


@dataclass
class Result:
    name: str
    interval_s: float  # heartbeat (idle) or block_interval_ms (always)
    window_s: float = 0.0
    blocks: int = 0
    store_bytes: int = 0
    written_bytes: int = 0
    latencies_s: list[float] = field(default_factory=list)
    replay_blocks: int = 0
    replay_s: float = 0.0
    mean_block_s: float = 0.0
    bytes_per_block: int = 0
    bytes_per_version: int = 0


def allocated_bytes(path: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def written_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def best_height(client: RpcClient) -> int | None:
    try:
        return client.best_height()
    except (RpcConnectionError, RpcError, OSError):
        return None


def wait_height(client: RpcClient, height: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = best_height(client)
        if now is not None and now >= height:
            return now
        time.sleep(0.05)
    raise SystemExit(f"the localnet did not reach height {height} in {timeout:g} s")


def lone_transfers(client: RpcClient, samples: int, interval_s: float) -> list[float]:
    """Submit ``samples`` transfers, each into an idle gap; seconds to each receipt."""
    genesis = client.genesis_hash()
    alice, bob = Keypair.dev("alice"), Keypair.dev("bob")
    rng = random.Random(20)
    out = []
    for _ in range(samples):
        # Start from a heartbeat, then let a random part of the interval pass idle.
        height = best_height(client) or 0
        wait_height(client, height + 1, timeout=interval_s * 3 + 30)
        time.sleep(interval_s * rng.uniform(0.2, 0.8))
        nonce = client.next_index(encode_address(alice.public))
        call = Call("balances", "transfer", {"amount": 1_000, "dest": bob.public})
        ext = Extrinsic.create(alice, nonce, client.best_height() + 100, call, genesis)
        started = time.monotonic()
        tx_hash = client.submit(ext.encode())
        while client.receipt(tx_hash) is None:
            if time.monotonic() - started > 60:
                raise SystemExit("a lone transfer was not final within 60 s")
            time.sleep(0.005)
        out.append(time.monotonic() - started)
    return out


def replay(home: Path) -> tuple[int, float]:
    source = HomeSource(home)
    try:
        replayer = Replayer(source.genesis, threads=2)
        replayer.check_genesis(source.genesis_hash)
        report = replayer.run(source.records())
        replayer.close()
    finally:
        source.close()
    return report.blocks, report.seconds


def run_setting(name: str, interval_ms: int | None, args: argparse.Namespace) -> Result:
    workdir = Path(tempfile.mkdtemp(prefix="credichain-bench-idle-"))
    ports = free_ports(VALIDATORS)
    homes = prepare_localnet(workdir / "net", VALIDATORS, ports)
    if interval_ms is None:
        set_empty_blocks(homes, create=True)
    else:
        set_empty_blocks(homes, create=False, interval_ms=interval_ms)
    block_ms = load_config(homes[0] / "config.toml").consensus.block_interval_ms
    result = Result(name, (interval_ms if interval_ms is not None else block_ms) / 1000)
    nodes = [NodeProcess(home) for home in homes]
    client = RpcClient(f"http://127.0.0.1:{ports.rpc}", timeout=10)
    for node in nodes:
        node.start()
    try:
        wait_height(client, 2)
        data = homes[0] / "data"
        h0, bytes0, io0 = wait_height(client, 2), allocated_bytes(data), written_bytes(nodes[0].pid)
        started = time.monotonic()
        time.sleep(args.window)
        result.window_s = time.monotonic() - started
        h1, bytes1, io1 = best_height(client) or h0, allocated_bytes(data), 0
        io1 = written_bytes(nodes[0].pid)
        result.blocks = h1 - h0
        result.store_bytes = bytes1 - bytes0
        result.written_bytes = io1 - io0
        result.mean_block_s = result.window_s / max(1, result.blocks)
        print(f"  {name}: {result.blocks} blocks in {result.window_s:.1f} s idle", flush=True)
        if interval_ms is not None and args.samples:
            result.latencies_s = lone_transfers(client, args.samples, interval_ms / 1000)
            print(
                "  lone transfers final after "
                + ", ".join(f"{s * 1000:.0f}" for s in result.latencies_s)
                + " ms",
                flush=True,
            )
    finally:
        client.close()
        stop_all(nodes)
    usage = store_usage(homes[0] / "data" / "db")
    result.bytes_per_block = usage.bytes_per_block
    result.bytes_per_version = usage.bytes_per_state_version
    result.replay_blocks, result.replay_s = replay(homes[0])
    return result


def report(results: list[Result]) -> None:
    print()
    print(
        f"{platform.node()} ({platform.processor() or platform.machine()}), "
        f"{VALIDATORS} validators on 127.0.0.1; per idle hour/day EXTRAPOLATED from the window"
    )
    header = (
        f"{'setting':<22}{'window':>8}{'blocks':>8}{'blocks/h':>10}{'store MB/h':>12}"
        f"{'written MB/h':>14}{'replay ms/blk':>15}{'replay s/day':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        per_hour = HOUR / r.window_s
        blocks_day = r.blocks * DAY / r.window_s
        per_block = r.replay_s / max(1, r.replay_blocks)
        print(
            f"{r.name:<22}{r.window_s:>7.0f}s{r.blocks:>8}{r.blocks * per_hour:>10.0f}"
            f"{r.store_bytes * per_hour / 1e6:>12.2f}{r.written_bytes * per_hour / 1e6:>14.2f}"
            f"{per_block * 1000:>15.2f}{per_block * blocks_day:>14.1f}"
        )
    busy = next((r for r in results if r.name == "always"), None)
    for r in results:
        if not r.latencies_s:
            continue
        line = (
            f"lone transfer on an idle chain, {r.name}: median "
            f"{statistics.median(r.latencies_s) * 1000:.0f} ms, max "
            f"{max(r.latencies_s) * 1000:.0f} ms ({len(r.latencies_s)} samples)"
        )
        if busy is not None:
            line += f"; busy chain's block interval {busy.mean_block_s * 1000:.0f} ms"
        print(line)
    for r in results:
        print(
            f"{r.name}: store per block {r.bytes_per_block} B (block, header, commit, receipts, "
            f"events, indexes), per state version {r.bytes_per_version} B (node0, `node du`)"
        )
    print(
        "replay s/day = replay time per block of the chain replayed (node0's whole chain, "
        "mostly empty blocks) x blocks per idle day."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=60.0, help="idle seconds per setting")
    parser.add_argument("--samples", type=int, default=5, help="lone transfers per setting")
    parser.add_argument(
        "--intervals",
        default="1000,10000",
        help="heartbeat intervals (ms) to measure with create_empty_blocks = false",
    )
    parser.add_argument("--no-always", action="store_true", help="skip create_empty_blocks=true")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    settings: list[tuple[str, int | None]] = []
    if not args.no_always:
        settings.append(("always", None))
    for text in args.intervals.split(","):
        if text.strip():
            ms = int(text)
            settings.append((f"idle, heartbeat {ms / 1000:g} s", ms))
    results = []
    for name, interval_ms in settings:
        print(f"measuring {name} ...", flush=True)
        results.append(run_setting(name, interval_ms, args))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
