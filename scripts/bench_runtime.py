"""Transfers per second through the full runtime path, and where the time goes.

Each block of ``--block-size`` signed transfers goes through exactly what a
validator does with a proposed block: decode (canonical check), signature
verification (batched, on 1 or 2 threads), validation, dispatch in overlay
layers, staging the changes on the state trie, and one atomic write batch of
the trie nodes to the store (LevelDB by default). Signing is done beforehand
(wallets sign, not the node).

The genesis state (``--accounts`` funded accounts, of which the senders are a
subset) is written straight from the runtime's genesis builder in one trie
commit, without the JSON document, so a million accounts set up in about a
minute.

    .venv/bin/python scripts/bench_runtime.py --quick          # ~10 s smoke run
    .venv/bin/python scripts/bench_runtime.py                  # 10 000 and 1 000 000 accounts
    .venv/bin/python scripts/bench_runtime.py --accounts 10000 --blocks 10 --profile
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger import vrf
from ledger.crypto import Keypair, blake2b256
from ledger.kv import KVStore, LevelDBKV, MemoryKV, WriteBatch
from ledger.trie import EMPTY_ROOT, StateTrie
from ledger.types import (
    GENESIS_VRF_OUTPUT,
    Call,
    Extrinsic,
    Validator,
    ValidatorSet,
    block_vrf_alpha,
)
from pallets import construct
from pallets.executive.executor import BlockEnv, BlockResult, Runtime
from pallets.executive.genesis import genesis_state
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
    accounts: list[bytes]
    next_sender: int = 0
    vrf_output: bytes = GENESIS_VRF_OUTPUT  # the last block's, for the next proof (C6)


def account_id(index: int) -> bytes:
    return blake2b256(b"bench-account/" + index.to_bytes(8, "big"))


def setup(accounts: int, senders_needed: int, store: str, workdir: Path) -> tuple[Chain, float]:
    start = time.perf_counter()
    senders = [
        Keypair.from_seed(blake2b256(b"bench-sender/" + i.to_bytes(8, "big")))
        for i in range(senders_needed)
    ]
    ids = [k.public for k in senders] + [account_id(i) for i in range(accounts - senders_needed)]
    validator = Keypair.from_seed(blake2b256(b"bench-validator"))
    config = GenesisConfig(
        chain="bench",
        genesis_time=GENESIS_TIME,
        validators=ValidatorSet.of([Validator(validator.public, 1)]),
        balances=tuple((account, 10**9) for account in ids),
        params=defaults(),
    )
    state = genesis_state(construct.registry(), config)
    kv: KVStore = LevelDBKV(workdir / "db") if store == "leveldb" else MemoryKV()
    trie = StateTrie(kv)
    root = trie.commit(EMPTY_ROOT, state, 0, sync=True)
    built = time.perf_counter() - start
    if isinstance(kv, LevelDBKV):
        # A bulk genesis leaves LevelDB with a compaction backlog that stalls the first
        # block writes for seconds; a node importing a big genesis pays it once. Pay it
        # here (through plyvel's handle, which LevelDBKV does not expose) so the timed
        # blocks measure the steady state.
        settle = time.perf_counter()
        kv._db.compact_range()
        print(f"  LevelDB compaction after genesis: {time.perf_counter() - settle:.1f} s")
    return Chain(kv, TimedTrie(trie), root, 0, senders, ids), built


def sign_block(chain: Chain, size: int, height: int) -> list[bytes]:
    raws = []
    for _ in range(size):
        key = chain.senders[chain.next_sender]
        dest = chain.accounts[
            int.from_bytes(blake2b256(key.public)[:8], "big") % len(chain.accounts)
        ]
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
        end = time.perf_counter()
        execute_s += middle - start
        write_s += end - middle
        if not all(r.success for r in result.receipts):
            raise SystemExit("a benchmark transfer failed: the setup is wrong")
        chain.root, chain.height = result.state_root, env.height
        chain.vrf_output = result.vrf_output
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


def bench(accounts: int, args: argparse.Namespace) -> None:
    size, blocks = args.block_size, args.blocks
    needed = size * (blocks * len(args.threads) + args.warmup + (1 if args.profile else 0))
    if needed > accounts:
        raise SystemExit(f"{needed} senders needed but only {accounts} accounts: lower --blocks")
    workdir = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    try:
        print(f"\n== {accounts:,} accounts")
        chain, setup_s = setup(accounts, needed, args.store, workdir)
        print(f"  genesis state built and committed in {setup_s:.1f} s")
        if args.warmup:
            # Untimed: lets LevelDB settle after the genesis write and fills the node cache,
            # so that the first setting measured is not penalised for going first.
            with TimedVerifier(1) as verifier:
                runtime = Runtime(construct.registry(), GENESIS_HASH, chain.trie, verifier=verifier)
                warm = [sign_block(chain, size, chain.height + n) for n in range(args.warmup)]
                run = run_blocks(chain, runtime, warm, sync=args.sync)
            print(f"  warm-up: {run.blocks} blocks, {run.transfers / run.total_s:,.0f} transfers/s")
        for threads in args.threads:
            verifier = TimedVerifier(threads)
            runtime = Runtime(construct.registry(), GENESIS_HASH, chain.trie, verifier=verifier)
            signed = [sign_block(chain, size, chain.height + n) for n in range(blocks)]
            run = run_blocks(chain, runtime, signed, sync=args.sync)
            per = run.transfers / run.total_s
            other = run.execute_s - run.verify_s - run.stage_s
            print(
                f"  verify threads={threads}: {run.transfers} transfers in {run.blocks} blocks of "
                f"{size}: {per:,.0f} transfers/s  (execute {run.execute_s:.2f} s = verify "
                f"{run.verify_s:.2f} + trie stage {run.stage_s:.2f} + decode/validate/dispatch "
                f"{other:.2f}; write batch {run.write_s:.2f} s, sync={args.sync})"
            )
            if args.profile and threads == args.threads[0]:
                raws = sign_block(chain, size, chain.height)
                print(f"\n-- pyinstrument, one block of {size} transfers, threads={threads}:")
                print(profile_block(chain, runtime, raws))
            verifier.close()
        chain.kv.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--blocks", type=int, default=3, help="timed blocks per thread setting")
    parser.add_argument("--block-size", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=2, help="untimed blocks first")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--store", choices=["leveldb", "memory"], default="leveldb")
    parser.add_argument("--no-sync", dest="sync", action="store_false", help="unsynced writes")
    parser.add_argument("--profile", action="store_true", help="pyinstrument one block")
    parser.add_argument("--quick", action="store_true", help="small run: 10 000 accounts")
    args = parser.parse_args(argv)
    if args.quick:
        args.accounts, args.blocks, args.block_size, args.warmup = [10_000], 2, 500, 1
    print(
        f"bench_runtime: python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
        f"store={args.store}, block size {args.block_size}, {args.blocks} blocks per setting"
    )
    for accounts in args.accounts:
        bench(accounts, args)


if __name__ == "__main__":
    main()
