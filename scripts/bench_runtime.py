"""Transfers per second through the full runtime path, and where the time goes.

Each block of ``--block-size`` signed transfers goes through exactly what a
validator does with a proposed block: decode (canonical check), signature
verification (batched, on 1 or 2 threads), validation, dispatch in overlay
layers, staging the changes on the state trie, and one atomic write batch of
the trie nodes to the store (LevelDB by default). Signing is done beforehand
(wallets sign, not the node).

The genesis state (``--accounts`` funded accounts, of which the senders are a
subset) is written straight from the runtime's genesis builder in one trie
commit, without the JSON document, so a million accounts set up in about
twenty seconds. That happens in a process of its own: a validator opens an
existing store with cold caches, it never holds a million-account genesis
in memory. The blocks then run in a fresh process over that store, which
reports its resident memory after opening the store and its peak (VmHWM)
over the timed blocks. Each destination is a pseudo-random one of all the
accounts, and each sender sends once, so a block touches ~2 000 accounts
spread over the whole state, nearly all of them for the first time with a
million accounts (the worst case for every cache). ``--dest-accounts N``
draws the destinations from the first N accounts only, so that two sizes
can be compared with the same set of receiving accounts.

Each size is measured ``--rounds`` times (default 3), the sizes alternating,
each round in a fresh process over a fresh copy of the size's store. The last
lines compare the sizes by their best rounds: transfers/s with the most
accounts over transfers/s with the fewest (goal 3 of issue #23: >= 0.8 from
10 000 to 1 000 000 accounts, and a validator's RSS <= 500 MB, the most of any
round). One round each, minutes apart, gave ratios from 0.53 to 0.84 on this
machine for the same code: its speed drifts, and alternating rounds put both
sizes in the same conditions.

    .venv/bin/python scripts/bench_runtime.py --quick          # ~2 s smoke run
    .venv/bin/python scripts/bench_runtime.py                  # 10 000 and 1 000 000 accounts
    .venv/bin/python scripts/bench_runtime.py --accounts 10000 --blocks 10 --profile
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ledger import vrf
from ledger.crypto import Keypair, blake2b256
from ledger.kv import KVStore, LevelDBKV, LevelDBOptions, MemoryKV, WriteBatch
from ledger.trie import DEFAULT_CACHE_NODES, EMPTY_ROOT, StateTrie
from ledger.types import (
    GENESIS_VRF_OUTPUT,
    Call,
    Extrinsic,
    Validator,
    ValidatorSet,
    block_vrf_alpha,
)
from node.daemon import gc_policy
from pallets import construct
from pallets.executive.executor import BlockEnv, BlockResult, Runtime
from pallets.executive.genesis import genesis_state
from pallets.executive.validate import ValidationRules
from pallets.executive.verify import BatchVerifier
from pallets.support.genesis_config import GenesisConfig
from pallets.support.params import defaults

GENESIS_TIME = 1_700_000_000
GENESIS_HASH = blake2b256(b"bench-genesis")  # signatures only need a fixed value
PROPOSER = Keypair.from_seed(blake2b256(b"bench-proposer"))  # proves each block's VRF


class TimedTrie:
    """The trie, with the time spent staging (hashing the new nodes) counted."""

    def __init__(self, trie: StateTrie) -> None:
        self.trie = trie
        self.stage_seconds = 0.0

    def reader(self, root: bytes) -> Any:
        return self.trie.reader(root)

    def stage(self, root: bytes, changes: Mapping[bytes, bytes | None], version: int) -> Any:
        start = time.perf_counter()
        try:
            return self.trie.stage(root, changes, version)
        finally:
            self.stage_seconds += time.perf_counter() - start

    def add_to_batch(self, staged: Any, batch: WriteBatch) -> None:
        self.trie.add_to_batch(staged, batch)


class TimedVerifier(BatchVerifier):
    def __init__(self, threads: int) -> None:
        super().__init__(threads)
        self.seconds = 0.0

    def verify_many(self, items: Any) -> list[bool]:
        start = time.perf_counter()
        try:
            return super().verify_many(items)
        finally:
            self.seconds += time.perf_counter() - start


@dataclass
class Chain:
    kv: KVStore
    trie: TimedTrie
    root: bytes
    height: int
    senders: list[Keypair]
    accounts: int
    dest_accounts: int
    next_sender: int = 0
    vrf_output: bytes = GENESIS_VRF_OUTPUT  # the last block's, for the next proof (C6)
    peak_anon_mb: float = 0.0  # the most anonymous memory seen after a block

    def account(self, index: int) -> bytes:
        """Account ``index`` of the genesis: the senders first, then the others."""
        if index < len(self.senders):
            return self.senders[index].public
        return account_id(index - len(self.senders))


@dataclass(frozen=True)
class Plan:
    """One size's settings, passed to the worker processes."""

    accounts: int
    senders: int
    block_size: int
    blocks: int
    warmup: int
    threads: tuple[int, ...]
    store: str
    sync: bool
    profile: bool
    cache_nodes: int
    warm: bool
    leveldb_cache_mb: int
    leveldb_bloom_bits: int
    dest_accounts: int  # destinations are drawn from the first this many accounts


def account_id(index: int) -> bytes:
    return blake2b256(b"bench-account/" + index.to_bytes(8, "big"))


def sender_keys(count: int) -> list[Keypair]:
    return [
        Keypair.from_seed(blake2b256(b"bench-sender/" + i.to_bytes(8, "big"))) for i in range(count)
    ]


def memory_mb() -> dict[str, float]:
    """This process's resident memory in MB: now (VmRSS), at its peak so far (VmHWM),
    and now in anonymous pages (RssAnon: the heap) and file pages (RssFile: mostly
    LevelDB's memory-mapped tables, page cache the kernel can take back)."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            found[name] = int(rest.split()[0]) / 1024  # kB
    return found


def open_trie(kv: KVStore, plan: Plan) -> StateTrie:
    return StateTrie(kv, cache_nodes=plan.cache_nodes)


def open_kv(plan: Plan, workdir: Path, *, create: bool) -> KVStore:
    options = LevelDBOptions(cache_mb=plan.leveldb_cache_mb, bloom_bits=plan.leveldb_bloom_bits)
    return LevelDBKV(workdir / "db", create=create, options=options)


def build_genesis(plan: Plan, kv: KVStore) -> tuple[bytes, float]:
    """Commit the genesis state of ``plan.accounts`` funded accounts; returns (root, seconds)."""
    start = time.perf_counter()
    senders = sender_keys(plan.senders)
    ids = [k.public for k in senders]
    ids += [account_id(i) for i in range(plan.accounts - plan.senders)]
    validator = Keypair.from_seed(blake2b256(b"bench-validator"))
    config = GenesisConfig(
        chain="bench",
        genesis_time=GENESIS_TIME,
        validators=ValidatorSet.of([Validator(validator.public, 1)]),
        balances=tuple((account, 10**9) for account in ids),
        params=defaults(),
    )
    state = genesis_state(construct.registry(), config)
    root = open_trie(kv, plan).commit(EMPTY_ROOT, state, 0, sync=True)
    return root, time.perf_counter() - start


def build_store(plan: Plan, workdir: Path) -> dict[str, float]:
    """Worker: write the genesis to a LevelDB store under ``workdir`` and compact it."""
    kv = open_kv(plan, workdir, create=True)
    try:
        _, built = build_genesis(plan, kv)
        assert isinstance(kv, LevelDBKV)
        # A bulk genesis leaves LevelDB with a compaction backlog that stalls the first
        # block writes for seconds; a node importing a big genesis pays it once. Pay it
        # here so the timed blocks measure the steady state.
        settle = time.perf_counter()
        kv.compact()
        return {"setup_s": built, "compact_s": time.perf_counter() - settle}
    finally:
        kv.close()


def sign_block(chain: Chain, size: int, height: int) -> list[bytes]:
    raws = []
    for _ in range(size):
        key = chain.senders[chain.next_sender]
        pick = int.from_bytes(blake2b256(key.public)[:8], "big") % chain.dest_accounts
        dest = chain.account(pick)
        chain.next_sender += 1
        call = Call("balances", "transfer", {"dest": dest, "amount": 1})
        raws.append(Extrinsic.create(key, 0, height + 10, call, GENESIS_HASH).encode())
    return raws


@dataclass
class Run:
    threads: int
    blocks: int
    transfers: int
    execute_s: float
    verify_s: float
    stage_s: float
    write_s: float

    @property
    def total_s(self) -> float:
        return self.execute_s + self.write_s

    @property
    def per_second(self) -> float:
        return self.transfers / self.total_s


def run_blocks(chain: Chain, runtime: Runtime, blocks: list[list[bytes]], sync: bool) -> Run:
    verifier = runtime.verifier
    assert isinstance(verifier, TimedVerifier)
    verifier.seconds, chain.trie.stage_seconds = 0.0, 0.0
    execute_s = write_s = 0.0
    for raws in blocks:
        height = chain.height + 1
        alpha = block_vrf_alpha(GENESIS_HASH, height, 0, chain.vrf_output)
        env = BlockEnv(
            height,
            (GENESIS_TIME + height) * 1000,
            blake2b256(chain.root),
            bytes(32),
            PROPOSER.public,
            0,
            vrf.prove(PROPOSER, alpha),
            chain.vrf_output,
        )
        start = time.perf_counter()
        result: BlockResult = runtime.execute(chain.root, env, raws)
        middle = time.perf_counter()
        batch = WriteBatch()
        runtime.commit(result, batch)
        chain.kv.write(batch, sync=sync)
        runtime.committed(result)  # as the node's chain does: the head's reads carried over
        end = time.perf_counter()
        execute_s += middle - start
        write_s += end - middle
        if not all(r.success for r in result.receipts):
            raise SystemExit("a benchmark transfer failed: the setup is wrong")
        chain.root, chain.height = result.state_root, env.height
        chain.vrf_output = result.vrf_output
        chain.peak_anon_mb = max(chain.peak_anon_mb, memory_mb()["RssAnon"])
    return Run(
        verifier.threads,
        len(blocks),
        sum(map(len, blocks)),
        execute_s,
        verifier.seconds,
        chain.trie.stage_seconds,
        write_s,
    )


def profile_block(chain: Chain, runtime: Runtime, raws: list[bytes]) -> str:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    run_blocks(chain, runtime, [raws], sync=True)
    profiler.stop()
    return str(profiler.output_text(unicode=False, color=False, show_all=False))


def measure(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Worker: open the store as a validator would (cold caches) and time blocks on it.

    With ``--store memory`` there is no store to open: the genesis is built
    here, and the memory figures include it.
    """
    gc_policy.apply()  # the collector thresholds `credichain node start` sets
    if plan.store == "leveldb":
        kv = open_kv(plan, workdir, create=False)
        trie = open_trie(kv, plan)
        root = trie.root_at(0)
        assert root is not None, "the store has no genesis"
    else:
        kv = MemoryKV()
        trie = open_trie(kv, plan)
        root, setup_s = build_genesis(plan, kv)
        print(f"  genesis state built and committed in {setup_s:.1f} s (in this process)")
    opened = memory_mb()
    if plan.warm:
        start = time.perf_counter()
        loaded = trie.warm(root)
        print(
            f"  node cache warmed with the {loaded:,} nodes nearest the root in "
            f"{time.perf_counter() - start:.2f} s ({memory_mb()['RssAnon']:.0f} MB anonymous)"
        )
    chain = Chain(
        kv, TimedTrie(trie), root, 0, sender_keys(plan.senders), plan.accounts, plan.dest_accounts
    )
    size = plan.block_size
    # One runtime, as in a node (its memory of the head's reads lasts across blocks);
    # each thread setting gets its own verifier.
    registry = construct.registry()
    runtime = Runtime(registry, GENESIS_HASH, chain.trie, verifier=TimedVerifier(1))
    if plan.warmup:
        # Untimed: lets LevelDB settle after the genesis write and warms the caches,
        # so that the first setting measured is not penalised for going first.
        warm = [sign_block(chain, size, chain.height + n) for n in range(plan.warmup)]
        run = run_blocks(chain, runtime, warm, sync=plan.sync)
        print(f"  warm-up: {run.blocks} blocks, {run.per_second:,.0f} transfers/s")
    runtime.verifier.close()
    rates: dict[int, float] = {}
    profile = ""
    for threads in plan.threads:
        verifier = TimedVerifier(threads)
        runtime.verifier = verifier
        runtime.rules = ValidationRules(registry, GENESIS_HASH, verifier)
        signed = [sign_block(chain, size, chain.height + n) for n in range(plan.blocks)]
        run = run_blocks(chain, runtime, signed, sync=plan.sync)
        rates[threads] = run.per_second
        other = run.execute_s - run.verify_s - run.stage_s
        print(
            f"  verify threads={threads}: {run.transfers} transfers in {run.blocks} blocks of "
            f"{size}: {run.per_second:,.0f} transfers/s  (execute {run.execute_s:.2f} s = verify "
            f"{run.verify_s:.2f} + trie stage {run.stage_s:.2f} + decode/validate/dispatch "
            f"{other:.2f}; write batch {run.write_s:.2f} s, sync={plan.sync})"
        )
        if plan.profile and threads == plan.threads[0]:
            raws = sign_block(chain, size, chain.height)
            profile = profile_block(chain, runtime, raws)
        verifier.close()
    peak = memory_mb()  # before the profiler's report, which is not the node's
    if profile:
        print(f"\n-- pyinstrument, one block of {size} transfers, threads={plan.threads[0]}:")
        print(profile)
    kv.close()
    print(
        f"  memory: {opened['VmRSS']:.0f} MB resident after opening the store; by the end "
        f"of the timed blocks peak {peak['VmHWM']:.0f} MB (VmHWM), of which at most "
        f"{chain.peak_anon_mb:.0f} MB anonymous (heap) and now {peak['RssFile']:.0f} MB "
        f"file pages (LevelDB's mapped tables); {trie.cached_nodes():,} nodes cached"
    )
    return {
        "rates": rates,
        "rss_open_mb": opened["VmRSS"],
        "peak_mb": peak["VmHWM"],
        "peak_anon_mb": chain.peak_anon_mb,
    }


def in_fresh_process(function: Any, *args: Any) -> Any:
    """Run ``function(*args)`` in a new interpreter, so that its memory is its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def plan_for(accounts: int, args: argparse.Namespace) -> Plan:
    size, blocks = args.block_size, args.blocks
    needed = size * (blocks * len(args.threads) + args.warmup + (1 if args.profile else 0))
    if needed > accounts:
        raise SystemExit(f"{needed} senders needed but only {accounts} accounts: lower --blocks")
    return Plan(
        accounts=accounts,
        senders=needed,
        block_size=size,
        blocks=blocks,
        warmup=args.warmup,
        threads=tuple(args.threads),
        store=args.store,
        sync=args.sync,
        profile=args.profile,
        cache_nodes=args.cache_nodes,
        warm=args.warm,
        leveldb_cache_mb=args.leveldb_cache_mb,
        leveldb_bloom_bits=args.leveldb_bloom_bits,
        dest_accounts=min(accounts, args.dest_accounts or accounts),
    )


def bench(args: argparse.Namespace) -> dict[int, list[dict[str, Any]]]:
    """Every size's measurements, ``args.rounds`` of each, the sizes alternating.

    Each size's genesis store is built once; each round times blocks in a
    fresh process over a fresh copy of it. Alternating the sizes round by
    round exposes them to the same moments of a machine whose speed drifts
    (this VM's varied by a third within minutes), so that their best rounds
    compare like with like.
    """
    plans = {accounts: plan_for(accounts, args) for accounts in args.accounts}
    workdir = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    try:
        for accounts, plan in plans.items():
            if plan.store == "leveldb":
                built = in_fresh_process(build_store, plan, workdir / str(accounts))
                print(
                    f"\n{accounts:,} accounts: genesis state built and committed in "
                    f"{built['setup_s']:.1f} s, LevelDB compaction {built['compact_s']:.1f} s "
                    "(in a process of its own)"
                )
        results: dict[int, list[dict[str, Any]]] = {accounts: [] for accounts in plans}
        scratch = workdir / "scratch"
        for round_ in range(args.rounds):
            for accounts, plan in plans.items():
                print(f"\n== {accounts:,} accounts, round {round_ + 1} of {args.rounds}")
                shutil.rmtree(scratch, ignore_errors=True)
                if plan.store == "leveldb":
                    shutil.copytree(workdir / str(accounts), scratch)
                else:
                    scratch.mkdir()
                this = replace(plan, profile=plan.profile and round_ == 0)
                results[accounts].append(in_fresh_process(measure, this, scratch))
        return results
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _rates_of(rounds: list[dict[str, Any]], threads: int) -> str:
    return " ".join(f"{r['rates'][threads]:,.0f}" for r in rounds)


def summarize(results: dict[int, list[dict[str, Any]]], threads: list[int]) -> None:
    """Each size's best round (highest rate) and the ratio of the best rounds."""
    sizes = sorted(results)
    best: dict[int, dict[int, float]] = {}
    print("\n== summary (best of each size's rounds; memory: the most of any round)")
    for count in sizes:
        rounds = results[count]
        best[count] = {t: max(r["rates"][t] for r in rounds) for t in threads}
        rates = ", ".join(
            f"threads={t}: {best[count][t]:,.0f}/s (rounds {_rates_of(rounds, t)})" for t in threads
        )
        print(
            f"  {count:>9,} accounts: {rates}; RSS "
            f"{max(r['rss_open_mb'] for r in rounds):.0f} MB after opening the store, peak "
            f"{max(r['peak_mb'] for r in rounds):.0f} MB "
            f"(heap at most {max(r['peak_anon_mb'] for r in rounds):.0f} MB)"
        )
    if len(sizes) > 1:
        small, large = best[sizes[0]], best[sizes[-1]]
        ratios = ", ".join(f"threads={t}: {large[t] / small[t]:.2f}" for t in threads)
        print(f"  ratio {sizes[-1]:,} / {sizes[0]:,} accounts: {ratios}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--blocks", type=int, default=3, help="timed blocks per thread setting")
    parser.add_argument("--block-size", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=2, help="untimed blocks first")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--rounds", type=int, default=3, help="measurements of each size, alternating sizes"
    )
    parser.add_argument("--store", choices=["leveldb", "memory"], default="leveldb")
    parser.add_argument("--no-sync", dest="sync", action="store_false", help="unsynced writes")
    parser.add_argument("--profile", action="store_true", help="pyinstrument one block")
    parser.add_argument("--quick", action="store_true", help="small run: 10 000 accounts")
    parser.add_argument(
        "--cache-nodes", type=int, default=DEFAULT_CACHE_NODES, help="the trie's node cache"
    )
    parser.add_argument(
        "--no-warm",
        dest="warm",
        action="store_false",
        help="do not warm the node cache after opening the store (StateTrie.warm)",
    )
    parser.add_argument(
        "--dest-accounts",
        type=int,
        default=0,
        help="draw destinations from the first N accounts only (default: from all of them)",
    )
    defaults_leveldb = LevelDBOptions()
    parser.add_argument("--leveldb-cache-mb", type=int, default=defaults_leveldb.cache_mb)
    parser.add_argument("--leveldb-bloom-bits", type=int, default=defaults_leveldb.bloom_bits)
    args = parser.parse_args(argv)
    if args.quick:
        args.accounts, args.blocks, args.block_size, args.warmup = [10_000], 2, 500, 1
        args.rounds = 1
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    print(
        f"bench_runtime: python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
        f"store={args.store}, block size {args.block_size}, {args.blocks} blocks per setting, "
        f"{args.rounds} rounds, "
        f"trie node cache {args.cache_nodes:,}, LevelDB cache {args.leveldb_cache_mb} MB, "
        f"bloom filter {args.leveldb_bloom_bits} bits/key"
    )
    summarize(bench(args), args.threads)


if __name__ == "__main__":
    main()
