"""Benchmark: credichain's state trie against py-trie's HexaryTrie, one workload, one run.

Workload (issue "Foundation", trie benchmark): ``--accounts`` accounts with
32-byte keys and 40-byte values, then ``--blocks`` blocks of ``--updates``
updates of distinct random accounts, committing per block.

* credichain: ``StateTrie`` on ``LevelDBKV`` in a temporary directory, one
  synced ``commit`` per block (stage + one atomic batch + fsync).
* py-trie: ``HexaryTrie`` on its in-memory dict, in both of its modes: a
  plain ``set`` per update (every update rehashes its path and writes it),
  and one ``squash_changes()`` context per block. The ratio is reported
  against the faster of the two.

Also printed: proofs/s (prove one key + verify it), LevelDB bytes per key,
and the conditions. ``--profile`` runs pyinstrument over credichain's block
phase and prints where the time goes. Quick run:
``python -m scripts.bench_trie --accounts 5000 --blocks 5``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from ledger.kv import LevelDBKV
from ledger.proof import verify_proof
from ledger.trie import EMPTY_ROOT, StateTrie

Block = list[tuple[bytes, bytes]]


def _dir_size(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def _timed(action: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def _workload(
    accounts: int, blocks: int, updates: int, seed: int
) -> tuple[dict[bytes, bytes], list[Block]]:
    rng = random.Random(seed)
    keys = [rng.randbytes(32) for _ in range(accounts)]
    initial = {key: rng.randbytes(40) for key in keys}
    per_block = min(updates, accounts)
    work = [
        [(key, rng.randbytes(40)) for key in rng.sample(keys, per_block)] for _ in range(blocks)
    ]
    return initial, work


def bench_credichain(
    initial: dict[bytes, bytes], work: list[Block], profile: bool
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-trie-") as tmp:
        path = Path(tmp) / "db"
        kv = LevelDBKV(path)
        trie = StateTrie(kv)
        root, load_s = _timed(lambda: trie.commit(EMPTY_ROOT, initial, 0))
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        start = time.perf_counter()
        for height, block in enumerate(work, start=1):
            root = trie.commit(root, dict(block), height)
        blocks_s = time.perf_counter() - start
        if profiler is not None:
            profiler.stop()
        # Proofs: prove one key and verify it, for a sample of keys.
        rng = random.Random(1)
        probes = rng.sample(sorted(initial), min(2000, len(initial)))
        start = time.perf_counter()
        for key in probes:
            if verify_proof(root, key, trie.prove(root, [key])) is None:
                raise AssertionError("a present key proved absent")
        proofs_s = time.perf_counter() - start
        reader = trie.reader(root)
        final = {key: reader.get(key) for key in probes[:200]}
        kv.close()
        disk = _dir_size(path)
    report: dict[str, Any] = {
        "load_s": load_s,
        "blocks_s": blocks_s,
        "proofs_per_s": len(probes) / proofs_s,
        "disk_bytes": disk,
        "final_sample": final,
    }
    if profiler is not None:
        from pyinstrument.renderers import ConsoleRenderer

        renderer = ConsoleRenderer(unicode=False, color=False, flat=True, show_all=True)
        report["profile"] = profiler.output(renderer)
    return report


def bench_pytrie(initial: dict[bytes, bytes], work: list[Block]) -> dict[str, Any]:
    from trie.hexary import HexaryTrie

    base: Any = HexaryTrie(db={})

    def load() -> None:
        with base.squash_changes() as memory_trie:
            for key, value in initial.items():
                memory_trie[key] = value

    _, load_s = _timed(load)
    root0 = base.root_hash
    db0 = dict(base.db)

    plain: Any = HexaryTrie(db=dict(db0), root_hash=root0)
    start = time.perf_counter()
    for block in work:
        for key, value in block:
            plain.set(key, value)
    plain_s = time.perf_counter() - start

    squashed: Any = HexaryTrie(db=dict(db0), root_hash=root0)
    start = time.perf_counter()
    for block in work:
        with squashed.squash_changes() as memory_trie:
            for key, value in block:
                memory_trie[key] = value
    squash_s = time.perf_counter() - start
    if plain.root_hash != squashed.root_hash:
        raise AssertionError("py-trie's two modes disagree")
    return {"load_s": load_s, "plain_s": plain_s, "squash_s": squash_s, "trie": plain}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--updates", type=int, default=1_000, help="updates per block")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="pyinstrument credichain's blocks")
    args = parser.parse_args(argv)
    for name in ("accounts", "blocks", "updates"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")

    print(
        f"conditions: python {platform.python_version()} ({platform.machine()}), "
        f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}, "
        f"py-trie {package_version('trie')}, plyvel {package_version('plyvel')}, "
        f"msgpack {package_version('msgpack')}"
    )
    print(
        f"workload: {args.accounts} accounts (32-byte keys, 40-byte values), "
        f"{args.blocks} blocks x {args.updates} distinct random updates, commit per block"
    )
    initial, work = _workload(args.accounts, args.blocks, args.updates, args.seed)
    updates = sum(len(block) for block in work)

    ours = bench_credichain(initial, work, args.profile)
    theirs = bench_pytrie(initial, work)
    for key, value in ours["final_sample"].items():
        if theirs["trie"].get(key) != value:
            raise AssertionError("credichain and py-trie end in different states")

    ours_rate = updates / ours["blocks_s"]
    plain_rate = updates / theirs["plain_s"]
    squash_rate = updates / theirs["squash_s"]
    best = max(plain_rate, squash_rate)
    print(f"initial load: credichain {ours['load_s']:.2f} s, py-trie {theirs['load_s']:.2f} s")
    print(f"credichain StateTrie, LevelDB, synced commit/block: {ours_rate:>9,.0f} updates/s")
    print(f"py-trie HexaryTrie, plain set per update:           {plain_rate:>9,.0f} updates/s")
    print(f"py-trie HexaryTrie, squash_changes per block:       {squash_rate:>9,.0f} updates/s")
    print(
        f"ratio: {ours_rate / best:.1f}x the faster py-trie mode "
        f"({ours_rate / plain_rate:.1f}x plain set, {ours_rate / squash_rate:.1f}x squash_changes)"
    )
    print(f"proofs (prove one key + verify): {ours['proofs_per_s']:,.0f}/s")
    print(
        f"LevelDB on disk: {ours['disk_bytes']:,} bytes = "
        f"{ours['disk_bytes'] / args.accounts:,.0f} bytes per key "
        f"(all {args.blocks + 1} versions kept, nothing pruned)"
    )
    if "profile" in ours:
        print(ours["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
