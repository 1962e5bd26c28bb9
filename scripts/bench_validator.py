"""CPU per transfer of one validator's own work, stage by stage, in verifications.

    .venv/bin/python scripts/bench_validator.py                 # 20 blocks of 1 000
    .venv/bin/python scripts/bench_validator.py --blocks 5 --block-size 200
    .venv/bin/python scripts/bench_validator.py --against 2ac5679   # before/after, same run

What a validator does with a transfer that reaches it, on the real
components (LevelDB on disk, the node's verifier with its memory of verified
signatures, the pool, the chain, the history index), in one process and
without sockets:

1. *pool*: the transfer enters the pool (decode, nonce, fee quote and the
   signature check): ``Mempool.submit``, as from gossip or RPC;
2. *execute + commit*: the block another validator proposed is checked and
   executed (``Chain.validate_block``) and written (``Chain.commit_block``);
3. *pool update*: the pool drops what the block included (``Mempool.on_block``);
4. *history*: the history index takes the block (``HistoryIndex.add_block``).

Each stage's CPU time (all threads of this process) is divided by the
transfers it handled and printed in microseconds and in units of one
Ed25519 verification, measured in the same run with the node's verifier on
one thread: issue 23's unit ("CPU per finalized transfer <= 2.0 signature
verifications"). The proposer's work is done by a second chain in this
process and not counted. Consensus votes, the WAL, gossip and RPC framing
are not here: ``scripts/bench_localnet.py`` measures the whole node, this
script the per-transfer core, repeatably on a busy machine (CPU time, not
wall time).

``--against REV`` checks REV out in a temporary git worktree and runs the
same benchmark on its code and on this tree's, alternating (``--rounds``
each, fresh interpreters), keeping each stage's lowest CPU: the before and
after of a change measured in the same run, as a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.crypto import Keypair, blake2b256
from ledger.kv import LevelDBKV
from node.daemon.chain import Chain
from node.daemon.history import HistoryIndex
from node.daemon.mempool import Mempool, MempoolLimits
from node.testing.replay_fixture import ChainBuilder
from pallets.executive.verify import BatchVerifier

try:  # the collector thresholds `credichain node start` sets (none before issue 23's)
    from node.daemon.gc_policy import apply as apply_gc_policy
except ImportError:  # --against a revision from before them: its nodes ran the defaults
    apply_gc_policy = None

STAGES = ("pool", "execute + commit", "pool update", "history")


def verification_us(count: int = 4_000) -> float:
    """Microseconds of CPU per Ed25519 verification with the runtime's verifier, 1 thread."""
    key = Keypair.from_seed(blake2b256(b"bench-validator"))
    items = []
    for i in range(count):
        message = b"transfer " + str(i).encode()
        items.append((key.public, message, key.sign(message)))
    verifier = BatchVerifier(1)
    started = time.process_time()
    assert all(verifier.verify_many(items))
    return (time.process_time() - started) / count * 1e6


class Stages:
    """CPU seconds per stage; ``with stages.timing(name):`` adds one stretch of work."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        started = time.process_time()
        yield
        self.seconds[stage] += time.process_time() - started


def run(blocks: int, block_size: int, accounts: int, workdir: Path) -> tuple[dict[str, float], int]:
    """CPU seconds per stage over ``blocks`` blocks (after one warm-up block), transfers."""
    proposer = ChainBuilder(validators=4, accounts=accounts, path=workdir / "proposer")
    verifier = BatchVerifier(2, remember=200_000)  # as node/daemon/service.py makes it
    chain = Chain(LevelDBKV(workdir / "validator"), proposer.genesis, verifier=verifier)
    history = HistoryIndex(
        LevelDBKV(workdir / "history"), chain.runtime.registry, chain.genesis_hash
    )
    # Trees from before issue 23 have no head memory (Runtime.reader): --against runs them too.
    reader = getattr(chain.runtime, "reader", chain.trie.reader)
    pool = Mempool(chain.runtime.rules, reader(chain.state_root), chain.height, MempoolLimits())
    counted = Stages()
    counted_transfers = 0
    try:
        for number in range(blocks + 1):
            stages = counted if number else Stages()  # block 0 warms the caches
            txs = proposer.transfers(block_size)
            with stages.timing("pool"):
                for raw in txs:
                    pool.submit(raw)
            built = proposer.add_block(txs)  # another validator's work: not counted
            block = built.block
            with stages.timing("execute + commit"):
                chain.validate_block(block, round_=0)
                chain.commit_block(block, built.commit)
            with stages.timing("pool update"):
                pool.on_block(reader(chain.state_root), block.header.height, txs)
            with stages.timing("history"):
                history.add_block(block, built.receipts, built.events)
            if len(pool):
                raise SystemExit(f"block {block.header.height} left {len(pool)} in the pool")
            counted_transfers += len(txs) if number else 0
    finally:
        verifier.close()
        chain.close()
        proposer.close()
    return counted.seconds, counted_transfers


# The checkout may belong to another user than the one running this (CI): git
# would refuse it as "dubious ownership" without this, for these two calls only.
_GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "safe.directory",
    "GIT_CONFIG_VALUE_0": "*",
}


def measure(blocks: int, block_size: int, accounts: int) -> dict[str, float]:
    """Microseconds of CPU per transfer by stage, and the unit ("verification")."""
    if apply_gc_policy is not None:
        apply_gc_policy()  # this process does a node's work: its settings too
    unit = verification_us()
    workdir = Path(tempfile.mkdtemp(prefix="credichain-bench-validator-"))
    try:
        totals, counted = run(blocks, block_size, accounts, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures = {stage: totals[stage] / counted * 1e6 for stage in STAGES}
    figures["verification"] = unit
    return figures


def measure_at(revision_tree: Path, args: argparse.Namespace) -> dict[str, float]:
    """``measure`` in a fresh interpreter whose library code is ``revision_tree``'s."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--json",
        f"--blocks={args.blocks}",
        f"--block-size={args.block_size}",
        f"--accounts={args.accounts}",
    ]
    env = {**os.environ, "PYTHONPATH": str(revision_tree)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run at {revision_tree} failed:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def compare(args: argparse.Namespace) -> None:
    """This tree against ``args.against``, alternating runs, best of ``args.rounds`` each."""
    root = Path(__file__).resolve().parent.parent
    other = Path(tempfile.mkdtemp(prefix="credichain-bench-against-")) / "tree"
    added = subprocess.run(
        ["git", "-C", str(root), "worktree", "add", "--detach", str(other), args.against],
        check=False,
        capture_output=True,
        text=True,
        env=_GIT_ENV,
    )
    if added.returncode != 0:
        shutil.rmtree(other.parent, ignore_errors=True)
        raise SystemExit(f"cannot check out {args.against!r}: {added.stderr.strip()}")
    try:
        ours: list[dict[str, float]] = []
        theirs: list[dict[str, float]] = []
        for _ in range(args.rounds):
            theirs.append(measure_at(other, args))
            ours.append(measure_at(root, args))
    finally:
        subprocess.run(
            ["git", "-C", str(root), "worktree", "remove", "--force", str(other)],
            check=False,
            capture_output=True,
            env=_GIT_ENV,
        )
        shutil.rmtree(other.parent, ignore_errors=True)
    print(f"credichain validator CPU per transfer: this tree against {args.against}")
    print(
        f"  conditions: {args.blocks} blocks of {args.block_size} transfers over "
        f"{args.accounts} accounts, LevelDB on disk, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.rounds} alternating runs each, the lowest CPU "
        "of each stage kept"
    )
    unit = min(f["verification"] for f in ours + theirs)
    print(f"  unit: one verification = {unit:.1f} us of CPU (lowest of the runs)")
    for stage in (*STAGES, "total"):
        new, old = _lowest(ours, stage), _lowest(theirs, stage)
        print(
            f"  {stage:>17}: {old:7.1f} -> {new:7.1f} us per transfer "
            f"({old / unit:5.2f} -> {new / unit:5.2f} verifications), ratio {new / old:.2f}"
        )


def _lowest(runs: list[dict[str, float]], stage: str) -> float:
    """The lowest CPU of ``stage`` (or of all stages together, ``total``) over ``runs``."""
    if stage == "total":
        return min(sum(f[s] for s in STAGES) for f in runs)
    return min(f[stage] for f in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--block-size", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also run a git revision's code (a temporary worktree), alternating, and compare",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of --against")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.blocks < 1 or args.block_size < 1 or args.accounts < 2 or args.rounds < 1:
        parser.error("--blocks, --block-size and --rounds must be positive, --accounts at least 2")
    if args.against:
        compare(args)
        return 0
    figures = measure(args.blocks, args.block_size, args.accounts)
    if args.json:
        print(json.dumps(figures))
        return 0
    unit = figures["verification"]
    print("credichain validator CPU per transfer")
    print(
        f"  conditions: {args.blocks} blocks of {args.block_size} transfers over "
        f"{args.accounts} accounts, LevelDB on disk, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; CPU time of this process (all threads)"
    )
    print(f"  unit (this machine, this run): one verification = {unit:.1f} us of CPU")
    total = 0.0
    for stage in STAGES:
        per = figures[stage]
        total += per
        print(f"  {stage:>17}: {per:7.1f} us per transfer = {per / unit:5.2f} verifications")
    print(f"  {'total':>17}: {total:7.1f} us per transfer = {total / unit:5.2f} verifications")
    return 0


if __name__ == "__main__":
    sys.exit(main())
