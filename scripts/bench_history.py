"""History index (issue 20): how fast it is built from the blocks, its size, a page's cost.

Builds a chain of ``--transfers`` balance transfers in blocks of ``--per-block``
among ``--accounts`` funded accounts (``node.testing.replay_fixture.ChainBuilder``,
LevelDB on disk in a temporary directory, as a node stores it), then:

* indexes each block as a node does when it commits it (its receipts and
  events in memory, a LevelDB write per block): ms per block;
* rebuilds the history index from the block store into a fresh LevelDB
  (``HistoryIndex.catch_up``, what ``credichain node reindex`` and a node's
  start do): blocks/s, transfers/s, entries written;
* the bytes on disk of the chain's store and of the index (after closing
  both, so LevelDB has flushed its logs), per transfer;
* reads ``--pages`` pages of 25 entries of ``account_history`` (each from a
  random cursor of a random account, either order): microseconds per page
  (p50, p99), the index's part only (no JSON, no HTTP).

Usage: ``.venv/bin/python scripts/bench_history.py [--transfers 20000] [--per-block 200]``.
Figures depend on the machine and its load; they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog

from ledger.blockstore import BlockStore
from ledger.kv import LevelDBKV
from node.daemon.history import HistoryIndex
from node.testing.replay_fixture import ChainBuilder
from pallets.construct import registry


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=20_000)
    parser.add_argument("--per-block", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--pages", type=int, default=2_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        builder = ChainBuilder(validators=1, accounts=args.accounts, path=root / "db")
        remaining = args.transfers
        while remaining > 0:
            count = min(args.per_block, remaining)
            builder.add_block(builder.transfers(count))
            remaining -= count
        height = builder.chain.height
        genesis_hash = builder.chain.genesis_hash
        accounts = [k.public for k in builder.accounts]
        print(f"built {height} blocks, {args.transfers} transfers in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        # What a node does at each commit: index the executed block (receipts in memory).
        live = HistoryIndex(LevelDBKV(root / "live"), registry(), genesis_hash)
        started = time.perf_counter()
        for built in builder.built:
            live.add_block(built.block, built.receipts, built.events)
        took = time.perf_counter() - started
        live.kv.close()
        print(f"indexed at commit: {took / height * 1000:.1f} ms per block of {args.per_block} "
              f"transfers = {args.transfers / took:,.0f} transfers/s")  # fmt: skip
        builder.close()

        chain_kv = LevelDBKV(root / "db", create=False)
        index = HistoryIndex(LevelDBKV(root / "history"), registry(), genesis_hash)
        started = time.perf_counter()
        indexed = index.catch_up(BlockStore(chain_kv))
        took = time.perf_counter() - started
        entries = sum(index.account_history(a, None, 1, False).total for a in accounts)
        print(f"index rebuilt: {indexed} blocks in {took:.2f} s = {indexed / took:,.0f} blocks/s, "
              f"{args.transfers / took:,.0f} transfers/s; {entries} account entries")  # fmt: skip

        rng = random.Random(20)
        timings = []
        for _ in range(args.pages):
            account = rng.choice(accounts)
            total = index.account_history(account, None, 1, False).total
            start = rng.randrange(total)
            began = time.perf_counter()
            page = index.account_history(account, start, 25, rng.random() < 0.5)
            timings.append(time.perf_counter() - began)
            assert page.entries
        timings.sort()
        p50 = statistics.median(timings) * 1e6
        p99 = timings[int(len(timings) * 0.99)] * 1e6
        print(f"account_history page of 25 (index only, no JSON): p50 {p50:.0f} us, "
              f"p99 {p99:.0f} us over {args.pages} pages")  # fmt: skip
        index.kv.close()
        chain_kv.close()
        chain_bytes, index_bytes = _bytes(root / "db"), _bytes(root / "history")
        print(f"on disk: chain store {chain_bytes / 1e6:.1f} MB, history index "
              f"{index_bytes / 1e6:.1f} MB = {index_bytes / args.transfers:.0f} bytes per transfer "
              f"({index_bytes / max(entries, 1):.0f} per account entry)")  # fmt: skip


if __name__ == "__main__":
    main()
