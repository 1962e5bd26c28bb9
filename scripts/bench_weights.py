"""Benchmark every signed call in its worst case and write the runtime's weights (issue 17).

As FRAME's benchmarking does: each call's scenario (scripts/weights_scenarios*.py)
prepares state on a ``TestChain`` with fees over LevelDB and returns ``n``
extrinsics that all take the call's heaviest path; the block of them is
executed as a validator does (``Runtime.execute``: decoding, batched
signature checks, validation, fees, dispatch, staging the state root),
after a warm-up, ``--repeats`` times; the median gives microseconds per
extrinsic. A block of empty remarks (1 declared operation) gives the base.

    extrinsic_base   = ceil(base us x margin)
    ns_per_op(call)  = ceil((us per extrinsic - base) x 1000 x margin / declared operations)
    ns_per_op        = the largest of them (calls without a figure)

The table printed compares each call's declared weight (from the current
weights.json) with its measured time. Then, with the new table, full blocks
of the heaviest call (largest weight) and of the slowest per unit of weight
are built (``build_block``) and executed (``execute``) up to the localnet
``system.max_block_weight``: each must take at most 25% of the default
``timeout_propose``. ``--write`` writes pallets/support/weights.json.

    .venv/bin/python scripts/bench_weights.py --quick        # small n, 1 repeat (tests)
    .venv/bin/python scripts/bench_weights.py --write        # make bench-weights
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.kv import LevelDBKV
from pallets import construct
from pallets.executive.registry import PalletRegistry
from pallets.support.params import PARAM_INDEX
from pallets.support.weights import WEIGHTS_FILE, WeightTable, load_weights, parse_weights
from scripts import weights_scenarios as ws
from tests.pallets.helpers import TestChain


@dataclass
class Measured:
    call: str
    path: str
    n: int
    operations: int
    declared_us: int  # weight per extrinsic from the current table
    us: float  # measured per extrinsic (median)
    ok: bool
    detail: str
    ns_per_op: int = 0
    partial: bool = False  # the scenario stops short of the declared worst case


def propose_timeout_ms() -> int:
    from node.daemon.config import ConsensusSection  # the node's default

    return int(ConsensusSection.model_fields["timeout_propose_ms"].default)


def conditions(args: argparse.Namespace) -> list[str]:
    load = os.getloadavg()
    return [
        f"date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''}".rstrip(),
        f"cpus: {os.cpu_count()}  load (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"n per block: {args.n}  repeats: {args.repeats} (+1 warm-up)  margin: {args.margin}",
        "store: LevelDB (TestChain(fees=True)), path: Runtime.execute (signatures checked)",
    ]


def fresh_chain(workdir: Path, name: str, registry: PalletRegistry | None = None) -> TestChain:
    """A scenario's chain; with ``registry`` (the new table) at the localnet block limit."""
    path = workdir / name
    shutil.rmtree(path, ignore_errors=True)
    return ws.new_chain(LevelDBKV(path), registry=registry, big_blocks=registry is None)


def time_block(chain: TestChain, txs: list[bytes], seconds: int, repeats: int) -> float:
    """Median seconds of executing ``txs`` minus those of the same block empty (hooks)."""
    env = chain.next_env(seconds)
    chain.runtime.execute(chain.root, env, txs)  # warm-up
    chain.runtime.execute(chain.root, env, [])
    full, empty = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        chain.runtime.execute(chain.root, env, txs)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        chain.runtime.execute(chain.root, env, [])
        empty.append(time.perf_counter() - start)
    return max(0.0, statistics.median(full) - statistics.median(empty))


def check_receipts(
    chain: TestChain, prepared: ws.Prepared, failure: str | None
) -> tuple[bool, str]:
    result = chain.runtime.execute(chain.root, chain.next_env(prepared.seconds), prepared.txs)
    bad = []
    for receipt in result.receipts:
        if failure is None and not receipt.success:
            bad.append(f"{receipt.error.code}: {receipt.error.message}" if receipt.error else "?")
        elif failure is not None and (
            receipt.success or receipt.error is None or receipt.error.code != failure
        ):
            bad.append(f"expected failure {failure}")
    if len(result.receipts) != len(prepared.txs):
        bad.append(f"{len(result.receipts)} receipts for {len(prepared.txs)} extrinsics")
    if bad:
        return False, f"{len(bad)}/{len(prepared.txs)} failed: {bad[0]}"
    return True, "ok" if failure is None else f"fails with {failure} (its heaviest path)"


def measure(
    scenario: ws.Scenario, args: argparse.Namespace, workdir: Path, table: WeightTable
) -> Measured:
    chain = fresh_chain(workdir, scenario.call)
    prepared = scenario.build(chain, args.n)
    pallet, function = scenario.call.split(".")
    call = chain.runtime.registry.call(pallet, function)
    assert call is not None
    operations = max(1, call.weight)
    ok, detail = check_receipts(chain, prepared, scenario.failure)
    seconds = time_block(chain, prepared.txs, prepared.seconds, args.repeats)
    us = seconds * 1e6 / len(prepared.txs)
    chain.kv.close()
    return Measured(
        scenario.call,
        scenario.path,
        len(prepared.txs),
        operations,
        table.weight(call, operations),
        us,
        ok,
        detail,
        partial=scenario.partial,
    )


def measure_base(args: argparse.Namespace, workdir: Path) -> float:
    chain = fresh_chain(workdir, "base")
    prepared = ws.base_block(chain, max(args.n, 20))
    ok, detail = check_receipts(chain, prepared, None)
    assert ok, detail
    seconds = time_block(chain, prepared.txs, prepared.seconds, args.repeats)
    chain.kv.close()
    return seconds * 1e6 / len(prepared.txs)


def new_table(base_us: float, rows: list[Measured], margin: float) -> WeightTable:
    base = max(1, math.ceil(base_us * margin))
    calls = {}
    for row in rows:
        extra = max(0.0, row.us - base_us)
        row.ns_per_op = max(1, math.ceil(extra * 1000 * margin / row.operations))
        calls[row.call] = row.ns_per_op
    default = max(calls.values(), default=1)
    # A partial scenario times a lighter path than its declared operations: dividing
    # by them would underprice the call, so it keeps the default (slowest) rate.
    for row in rows:
        if row.partial:
            calls.pop(row.call)
            row.ns_per_op = default
    return WeightTable(base, default, calls)


def print_table(rows: list[Measured], base_us: float, table: WeightTable, old: WeightTable) -> None:
    print(
        f"\nbase (empty system.remark, 1 op): {base_us:.1f} us per extrinsic "
        f"-> extrinsic_base {table.extrinsic_base} us (was {old.extrinsic_base})"
    )
    head = (
        "call",
        "ops",
        "declared_us",
        "measured_us",
        "ratio",
        "ns_per_op",
        "new_weight",
        "n",
        "receipts",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        ratio = r.us / r.declared_us if r.declared_us else float("inf")
        new_weight = table.extrinsic_base + -(-r.operations * r.ns_per_op // 1000)
        cells = (
            r.call,
            str(r.operations),
            str(r.declared_us),
            f"{r.us:.0f}",
            f"{ratio:.3f}",
            str(r.ns_per_op),
            str(new_weight),
            str(r.n),
            r.detail,
        )
        print("| " + " | ".join(cells) + " |")
    print(f"default ns_per_op (largest): {table.ns_per_op} (was {old.ns_per_op})")


def full_block(
    scenario: ws.Scenario, table: WeightTable, workdir: Path, limit: int, timeout_ms: int
) -> dict[str, Any]:
    """Build and execute a block of ``scenario``'s call filled up to the block weight limit."""
    registry = PalletRegistry(construct.PALLETS, weights=table, wiring=construct.WIRING)
    pallet, function = scenario.call.split(".")
    call = registry.call(pallet, function)
    assert call is not None
    weight = table.weight(call, call.weight)
    count = limit // weight
    chain = fresh_chain(workdir, "full-" + scenario.call, registry)
    prepared = scenario.build(chain, count + 1)
    env = chain.next_env(prepared.seconds)
    start = time.perf_counter()
    built = chain.runtime.build_block(chain.root, env, prepared.txs)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    chain.runtime.execute(chain.root, env, built.extrinsics)
    execute_s = time.perf_counter() - start
    included = len(built.extrinsics)
    worst = max(build_s, execute_s)
    fits = worst * 1000 <= 0.25 * timeout_ms
    suggestion = limit if fits else int(limit * 0.25 * timeout_ms / (worst * 1000))
    return {
        "call": scenario.call,
        "weight": weight,
        "included": included,
        "wanted": count,
        "block_weight": built.weight,
        "build_ms": build_s * 1000,
        "execute_ms": execute_s * 1000,
        "fits": fits,
        "suggested_max_block_weight": suggestion,
        "success": sum(r.success for r in built.receipts),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=32, help="extrinsics per timed block")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--margin", type=float, default=1.25)
    parser.add_argument("--quick", action="store_true", help="n=2, 1 repeat, no full blocks")
    parser.add_argument("--write", action="store_true", help=f"write {WEIGHTS_FILE}")
    parser.add_argument("--only", action="append", default=[], help="only these calls")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.repeats = 2, 1
    print("bench_weights:", " ".join(sys.argv))
    for line in conditions(args):
        print("  " + line)
    registry = construct.registry()
    old = load_weights()
    scenarios = ws.all_scenarios()
    signed = {f"{p.name}.{c.name}" for p in registry.pallets for c in p.calls} - set(
        ws.governance_only(registry)
    )
    missing = sorted(signed - {s.call for s in scenarios})
    for name in ws.governance_only(registry):
        print(f"  {name}: not an extrinsic (governance origin)")
    if missing:
        print(f"  NO SCENARIO: {missing}")
    if args.only:
        scenarios = [s for s in scenarios if s.call in args.only]
    own = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="bench-weights-")) if own else args.workdir
    started = time.perf_counter()
    try:
        base_us = measure_base(args, workdir)
        rows = []
        for scenario in scenarios:
            t0 = time.perf_counter()
            row = measure(scenario, args, workdir, old)
            rows.append(row)
            print(
                f"  {row.call}: {row.us:.0f} us/ext (n={row.n}, {row.detail}) "
                f"[{time.perf_counter() - t0:.1f} s]",
                flush=True,
            )
        table = new_table(base_us, rows, args.margin)
        print_table(rows, base_us, table, old)
        failed = [r.call for r in rows if not r.ok]
        checks = []
        if not args.quick and rows:
            limit = PARAM_INDEX[("system", "max_block_weight")].localnet
            timeout_ms = propose_timeout_ms()
            by_call = {s.call: s for s in scenarios}
            heaviest = max(rows, key=lambda r: table.extrinsic_base + r.operations * r.ns_per_op)
            slowest = max(
                rows,
                key=lambda r: r.us / (table.extrinsic_base + r.operations * r.ns_per_op / 1000),
            )
            print(
                f"\nfull blocks (max_block_weight {limit} us, timeout_propose {timeout_ms} ms, "
                f"25% = {timeout_ms / 4:.0f} ms):"
            )
            for label, row in (("heaviest weight", heaviest), ("slowest per weight", slowest)):
                if checks and checks[-1]["call"] == row.call:
                    print(f"  {label}: {row.call} (the same call)")
                    continue
                check = full_block(by_call[row.call], table, workdir, limit, timeout_ms)
                checks.append(check)
                print(
                    f"  {label}: {check['call']} weight {check['weight']} us x "
                    f"{check['included']} of {check['wanted']} wanted "
                    f"(block weight {check['block_weight']}, "
                    f"{check['success']} succeeded): build_block {check['build_ms']:.0f} ms "
                    f"({check['build_ms'] / timeout_ms:.1%} of timeout_propose), execute "
                    f"{check['execute_ms']:.0f} ms ({check['execute_ms'] / timeout_ms:.1%}): "
                    + (
                        "<= 25% OK"
                        if check["fits"]
                        else f"> 25%: max_block_weight {check['suggested_max_block_weight']} fits"
                    )
                )
        print("\nscenarios (the heaviest path each takes):")
        for scenario in scenarios:
            print(f"  {scenario.call}: {scenario.path}")
        load = os.getloadavg()
        print(
            f"\n({time.perf_counter() - started:.0f} s in all; load at the end "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
        )
        if args.write:
            if failed:
                print(f"not writing: scenarios failed: {failed}")
                return 1
            write(table, args)
        return 1 if failed else 0
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def write(table: WeightTable, args: argparse.Namespace) -> None:
    load = os.getloadavg()
    document = {
        "comment": (
            f"written by make bench-weights (scripts/bench_weights.py --write) on "
            f"{datetime.date.today().isoformat()}, {platform.node()} ({os.cpu_count()} cpus, "
            f"load {load[0]:.2f}), python {platform.python_version()}, n={args.n}, "
            f"repeats={args.repeats}, margin={args.margin}"
        ),
        "extrinsic_base": table.extrinsic_base,
        "ns_per_op": table.ns_per_op,
        "calls": dict(sorted(table.call_ns_per_op.items())),
    }
    known = {f"{p.name}.{c.name}" for p in construct.registry().pallets for c in p.calls}
    parse_weights(document, known)
    WEIGHTS_FILE.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {WEIGHTS_FILE}")


if __name__ == "__main__":
    sys.exit(main())
