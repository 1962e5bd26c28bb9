"""Throughput and finality of a real 4-validator localnet under a transfer load.

    .venv/bin/python scripts/bench_localnet.py                # 60 s of load
    .venv/bin/python scripts/bench_localnet.py --duration 15  # a quick run

Starts a fresh localnet (separate processes, free ports on 127.0.0.1), funds
``--senders`` accounts from the dev accounts, pre-signs transfers, then an
external load generator (this process, one thread per node) submits them as
JSON-RPC batches round-robin to all nodes for ``--duration`` seconds.

Prints committed extrinsics/s over the load window, finality latency p50/p99
(submission to the finalizing precommits: block h is final when the
precommits that block h+1 carries were cast, i.e. at block h+1's BFT time),
the block interval, and the CPU seconds each node process used.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic
from node.cli.localnet import free_ports, prepare_localnet
from node.testing.procs import NodeProcess, stop_all
from rpc.client import RpcClient, RpcError

BATCH = 100


@dataclass
class Load:
    submitted: dict[bytes, float] = field(default_factory=dict)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_height(client: RpcClient, height: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.best_height() >= height:
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise SystemExit(f"node did not reach height {height} in {timeout}s")


def fund_senders(client: RpcClient, genesis: bytes, senders: list[Keypair]) -> None:
    """The dev accounts fund the senders, in waves that fit the pool's nonce window."""
    dev = [Keypair.dev(n) for n in ("alice", "bob", "charlie", "dave", "eve", "ferdie")]
    nonces = {d.public: client.next_index(encode_address(d.public)) for d in dev}
    valid_until = client.best_height() + 10_000
    wave = 40 * len(dev)  # the pool holds at most 64 future nonces per sender
    for first in range(0, len(senders), wave):
        raws = []
        for i, sender in enumerate(senders[first : first + wave]):
            payer = dev[i % len(dev)]
            call = Call("balances", "transfer", {"amount": 10**9, "dest": sender.public})
            raws.append(Extrinsic.create(payer, nonces[payer.public], valid_until, call, genesis))
            nonces[payer.public] += 1
        for start in range(0, len(raws), BATCH):
            chunk = raws[start : start + BATCH]
            replies = client.batch(
                [("author_submitExtrinsic", ["0x" + x.encode().hex()]) for x in chunk]
            )
            refused = [r for r in replies if isinstance(r, RpcError)]
            if refused:
                raise SystemExit(f"funding transfer refused: {refused[0]}")
        deadline = time.monotonic() + 120
        while any(client.receipt(x.hash) is None for x in raws[-len(dev) :]):
            if time.monotonic() > deadline:
                raise SystemExit("funding transfers were not committed")
            time.sleep(0.3)


def presign(
    senders: list[Keypair], per_sender: int, genesis: bytes, valid_until: int
) -> list[bytes]:
    sink = Keypair.dev("ferdie").public
    out = []
    for nonce in range(per_sender):  # interleave senders so each batch spreads over many
        for sender in senders:
            call = Call("balances", "transfer", {"amount": 1, "dest": sink})
            out.append(Extrinsic.create(sender, nonce, valid_until, call, genesis).encode())
    return out


def submitter(url: str, txs: list[bytes], load: Load, stop_at: float, rate: float) -> None:
    """Submit ``txs`` in order, at ``rate``/s (0: as fast as accepted).

    A full pool or a nonce beyond its window is retried, in order.
    """
    client = RpcClient(url, timeout=30)
    pending = list(reversed(txs))  # pop() from the end keeps nonce order
    next_slot = time.monotonic()
    while pending and time.monotonic() < stop_at:
        if rate:
            next_slot += BATCH / rate
            time.sleep(max(0.0, next_slot - time.monotonic()))
        chunk = [pending.pop() for _ in range(min(BATCH, len(pending)))]
        now = time.time()
        try:
            replies = client.batch(
                [("author_submitExtrinsic", ["0x" + raw.hex()]) for raw in chunk]
            )
        except RpcError:
            pending.extend(reversed(chunk))
            time.sleep(0.05)
            continue
        retry = []
        with load.lock:
            for raw, reply in zip(chunk, replies, strict=True):
                if not isinstance(reply, RpcError):
                    load.submitted[blake2b256(raw)] = now
                elif reply.code == 1014 or "nonce too far" in str(reply.data):
                    retry.append(raw)  # pool full, or ahead of the pool's nonce window
                else:
                    load.refused += 1
        if retry:
            pending.extend(reversed(retry))
            time.sleep(0.05)
    client.close()


def pool_size(metrics_url: str) -> int:
    """Extrinsics in a node's pool, from its Prometheus metrics (-1 if unreadable)."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=10) as reply:
            text = reply.read().decode()
    except OSError:
        return -1
    for line in text.splitlines():
        if line.startswith("credichain_mempool_extrinsics "):
            return int(float(line.split()[1]))
    return -1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--senders", type=int, default=600)
    parser.add_argument("--per-sender", type=int, default=250)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="offered transfers/s (0: as fast as accepted)"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="credichain-bench-"))
    ports = free_ports(4)
    homes = prepare_localnet(workdir / "net", 4, ports)
    nodes = [NodeProcess(home) for home in homes]
    urls = [f"http://127.0.0.1:{ports.rpc + i}" for i in range(4)]
    for node in nodes:
        node.start()
    try:
        client = RpcClient(urls[0], timeout=30)
        wait_height(client, 2)
        genesis = client.genesis_hash()
        senders = [
            Keypair.from_seed(blake2b256(b"bench/" + str(i).encode())) for i in range(args.senders)
        ]
        print(f"funding {len(senders)} senders ...", flush=True)
        fund_senders(client, genesis, senders)
        valid_until = client.best_height() + 100_000
        print(f"pre-signing {len(senders) * args.per_sender} transfers ...", flush=True)
        txs = presign(senders, args.per_sender, genesis, valid_until)
        # All of one sender's transfers go to one node, in nonce order.
        shares: list[list[bytes]] = [[] for _ in range(4)]
        for index, raw in enumerate(txs):
            shares[(index % len(senders)) % 4].append(raw)
        load = Load()
        cpu_before = [cpu_seconds(n.pid) for n in nodes]
        start_height = client.best_height()
        started = time.monotonic()
        window_start = time.time()
        stop_at = started + args.duration
        threads = [
            threading.Thread(
                target=submitter, args=(urls[i], shares[i], load, stop_at, args.rate / 4)
            )
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        window_end = time.time()
        elapsed_submit = window_end - window_start
        # Drain: wait until every pool is empty (all accepted transfers final), as
        # each node's /metrics says (author_pendingExtrinsics is an unsafe method).
        metrics = [f"http://127.0.0.1:{ports.metrics + i}/metrics" for i in range(4)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(pool_size(u) == 0 for u in metrics):
                break
            time.sleep(0.5)
        time.sleep(1)
        end_height = client.best_height()
        wall = time.monotonic() - started
        cpu_after = [cpu_seconds(n.pid) for n in nodes]

        committed = 0
        in_window = 0
        latencies = []
        times = []
        last_final = window_start
        for height in range(start_height + 1, end_height):
            block_hash = client.block_hash(height)
            next_hash = client.block_hash(height + 1)
            assert block_hash is not None and next_hash is not None
            block = client.call("chain_getBlock", "0x" + block_hash.hex())
            times.append(int(block["block"]["header"]["timestamp"]))
            next_header = client.get_header(next_hash)
            assert next_header is not None
            final_s = int(next_header["timestamp"]) / 1000  # when its precommits were cast
            for hex_tx in block["block"]["extrinsics"]:
                committed += 1
                in_window += window_start <= final_s <= window_end
                last_final = max(last_final, final_s)
                submitted = load.submitted.get(blake2b256(bytes.fromhex(hex_tx[2:])))
                if submitted is not None:
                    latencies.append(final_s - submitted)
        intervals = [(b - a) / 1000 for a, b in itertools.pairwise(times)]
        latencies.sort()
        sustained = in_window / elapsed_submit if elapsed_submit else 0.0
        overall = committed / (last_final - window_start) if last_final > window_start else 0.0

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

        print()
        print("credichain localnet benchmark")
        print(
            f"  conditions: 4 validators as separate processes on 127.0.0.1, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, load generator in "
            f"this process (4 threads, JSON-RPC batches of {BATCH}), {len(senders)} senders, "
            f"offered rate {'unlimited' if not args.rate else f'{args.rate:.0f}/s'}"
        )
        print(
            f"  load window: {elapsed_submit:.1f} s; accepted {len(load.submitted)}, "
            f"refused for good {load.refused} (a full pool is retried)"
        )
        print(
            f"  committed: {committed} extrinsics in {end_height - 1 - start_height} blocks; "
            f"{in_window} finalized inside the load window"
        )
        print(
            f"  throughput: {sustained:.0f} extrinsics/s finalized during the load window; "
            f"{overall:.0f}/s from the start of the load to the last finalization"
        )
        print(
            f"  finality latency: p50 {pct(0.5):.2f} s, p99 {pct(0.99):.2f} s "
            f"({len(latencies)} samples)"
        )
        if intervals:
            print(
                f"  block interval: mean {statistics.mean(intervals):.2f} s, "
                f"max {max(intervals):.2f} s"
            )
        for i, (a, b) in enumerate(zip(cpu_before, cpu_after, strict=True)):
            share = (b - a) / wall
            print(f"  node{i} CPU: {b - a:.1f} s over {wall:.1f} s wall ({share:.0%} of a core)")
    finally:
        stop_all(nodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
