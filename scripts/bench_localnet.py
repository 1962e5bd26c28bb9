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
from dataclasses import dataclass, field
from pathlib import Path

from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic
from node.localnet import free_ports, prepare_localnet
from node.procs import NodeProcess, stop_all
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
    """Each dev account funds a share of the senders; wait until all are committed."""
    dev = [Keypair.dev(n) for n in ("alice", "bob", "charlie", "dave", "eve", "ferdie")]
    nonces = {d.public: client.next_index(encode_address(d.public)) for d in dev}
    valid_until = client.best_height() + 10_000
    raws = []
    for i, sender in enumerate(senders):
        payer = dev[i % len(dev)]
        call = Call("balances", "transfer", {"amount": 10**9, "dest": sender.public})
        raws.append(Extrinsic.create(payer, nonces[payer.public], valid_until, call, genesis))
        nonces[payer.public] += 1
    for start in range(0, len(raws), BATCH):
        chunk = raws[start : start + BATCH]
        client.batch([("author_submitExtrinsic", ["0x" + x.encode().hex()]) for x in chunk])
    last = raws[-1].hash
    deadline = time.monotonic() + 120
    while client.receipt(last) is None:
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


def submitter(url: str, txs: list[bytes], load: Load, stop_at: float) -> None:
    client = RpcClient(url, timeout=30)
    position = 0
    while position < len(txs) and time.monotonic() < stop_at:
        chunk = txs[position : position + BATCH]
        now = time.time()
        try:
            replies = client.batch(
                [("author_submitExtrinsic", ["0x" + raw.hex()]) for raw in chunk]
            )
        except RpcError:
            time.sleep(0.05)
            continue
        full = False
        with load.lock:
            for raw, reply in zip(chunk, replies, strict=True):
                if isinstance(reply, RpcError):
                    load.refused += 1
                    full = full or reply.code == 1014
                else:
                    load.submitted[blake2b256(raw)] = now
        position += len(chunk)
        if full:
            time.sleep(0.05)
    client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--senders", type=int, default=600)
    parser.add_argument("--per-sender", type=int, default=250)
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
        stop_at = started + args.duration
        threads = [
            threading.Thread(target=submitter, args=(urls[i], shares[i], load, stop_at))
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed_submit = time.monotonic() - started
        time.sleep(3)  # let the last submitted ones commit
        end_height = client.best_height()
        cpu_after = [cpu_seconds(n.pid) for n in nodes]

        committed = 0
        latencies = []
        times = []
        for height in range(start_height + 1, end_height + 1):
            block = client.call("chain_getBlock", "0x" + client.block_hash(height).hex())
            header = block["block"]["header"]
            times.append(int(header["timestamp"]))
            nxt = client.get_header(client.block_hash(height + 1)) if height < end_height else None
            final_ms = int(nxt["timestamp"]) if nxt else None
            for hex_tx in block["block"]["extrinsics"]:
                committed += 1
                tx_hash = blake2b256(bytes.fromhex(hex_tx[2:]))
                submitted = load.submitted.get(tx_hash)
                if submitted is not None and final_ms is not None:
                    latencies.append(final_ms / 1000 - submitted)
        span = (times[-1] - times[0]) / 1000 if len(times) > 1 else elapsed_submit
        intervals = [(b - a) / 1000 for a, b in itertools.pairwise(times)]
        latencies.sort()

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

        print()
        print("credichain localnet benchmark")
        print(
            f"  conditions: 4 validators as separate processes on 127.0.0.1, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, load generator in "
            f"this process (4 threads, JSON-RPC batches of {BATCH}), {len(senders)} senders"
        )
        print(
            f"  load window: {elapsed_submit:.1f} s, submitted {len(load.submitted)}, "
            f"refused {load.refused} (pool full: the generator backs off)"
        )
        print(
            f"  committed: {committed} extrinsics in {end_height - start_height} blocks "
            f"over {span:.1f} s of BFT time"
        )
        print(f"  throughput: {committed / span if span else 0:.0f} extrinsics/s committed")
        print(
            f"  finality latency: p50 {pct(0.5):.2f} s, p99 {pct(0.99):.2f} s "
            f"({len(latencies)} samples)"
        )
        if intervals:
            print(
                f"  block interval: mean {statistics.mean(intervals):.2f} s, "
                f"max {max(intervals):.2f} s"
            )
        wall = time.monotonic() - started
        for i, (a, b) in enumerate(zip(cpu_before, cpu_after, strict=True)):
            share = (b - a) / wall
            print(f"  node{i} CPU: {b - a:.1f} s over {wall:.1f} s wall ({share:.0%} of a core)")
    finally:
        stop_all(nodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
