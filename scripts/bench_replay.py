"""Replay throughput: build a chain of transfers in-process, export it, replay it.

Builds (with ``node.testing.replay_fixture.ChainBuilder``, in memory, 4 validators)
a chain of ``--transfers`` balance transfers in blocks of ``--per-block``
from ``--accounts`` funded accounts, writes it as an export file, then
replays the file (decode, every check, execution, invariants every block) once
per thread count in ``--threads`` and prints extrinsics/s and blocks/s, and
where the time went:

* ``signatures (waited)``: time the executing thread waited for the
  background verification of the next batch (0 when verification keeps up);
* ``execution``: validate + execute + commit of every block (in-memory store);
* ``invariants``: the runtime's ``try_state`` checks after every block;
* ``other``: reading and decoding the file, header and commit checks.

Usage: ``.venv/bin/python scripts/bench_replay.py [--transfers 100000] [--per-block 1000]``.
A quick run: ``--transfers 5000``. Figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog

from node.audit.export import ExportReader, export_records
from node.audit.replay import BlockRecord, Replayer
from node.daemon import gc_policy
from node.testing.replay_fixture import ChainBuilder


def build(transfers: int, per_block: int, accounts: int, out: Path) -> ChainBuilder:
    started = time.perf_counter()
    builder = ChainBuilder(accounts=accounts)
    remaining = transfers
    while remaining > 0:
        count = min(per_block, remaining)
        builder.add_block(builder.transfers(count))
        remaining -= count
    built = time.perf_counter() - started
    records = (BlockRecord(b.block.header.height, b.block, b.commit) for b in builder.built)
    export_records(out, builder.genesis, builder.genesis_hash, builder.chain.height, records)
    print(
        f"built {builder.chain.height} blocks, {transfers} transfers in {built:.1f} s; "
        f"export file {out.stat().st_size / 1e6:.1f} MB"
    )
    return builder


def replay(path: Path, threads: int, expected_root: bytes) -> None:
    reader = ExportReader(path)
    replayer = Replayer(reader.genesis, threads=threads)
    replayer.check_genesis(reader.genesis_hash)
    cpu = time.process_time()
    report = replayer.run(reader.records())
    cpu = time.process_time() - cpu
    reader.close()
    replayer.close()
    assert report.state_root == expected_root, "replay reached another state root"
    seconds = report.seconds
    timings = report.timings
    other = seconds - sum(timings.values())
    print(
        f"threads={threads}: {report.extrinsics / seconds:8.0f} extrinsics/s "
        f"{report.blocks / seconds:6.1f} blocks/s  ({report.blocks} blocks, "
        f"{report.extrinsics} extrinsics, {report.signatures} signatures, {seconds:.1f} s wall, "
        f"{cpu:.1f} s CPU)"
    )
    for name, value in (
        ("signatures (waited)", timings["wait_signatures"]),
        ("execution", timings["execute"]),
        ("invariants", timings["invariants"]),
        ("other (read, decode, checks)", other),
    ):
        print(f"    {name:<30} {value:6.2f} s  {100 * value / seconds:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--per-block", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if args.transfers < 1 or args.per_block < 1 or args.accounts < 2:
        parser.error("--transfers and --per-block must be >= 1, --accounts >= 2")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    gc_policy.apply()  # as `credichain audit replay` runs
    print(
        f"conditions: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.per_block} transfers a block, {args.accounts} accounts, 4 validators, "
        "in-memory store, invariants every block"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.cce"
        builder = build(args.transfers, args.per_block, args.accounts, path)
        for threads in args.threads:
            replay(path, threads, builder.chain.state_root)


if __name__ == "__main__":
    main()
