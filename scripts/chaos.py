"""Fault injection on a real 4-validator localnet under a bank workload.

    .venv/bin/python scripts/chaos.py --duration 120 --seed 7
    .venv/bin/python scripts/chaos.py --duration 1800 --seed 1 --faults all --replay all

Starts 4 validator processes on 127.0.0.1 whose p2p links pass through a
proxy this process controls, runs random bank transfers throughout, and
injects faults from a seeded schedule (``--faults``: all, cheap, or a comma
list of kill, term, pause, partition, slow, lossy, wal, ldb, twin). After the
run: same block hash and state root at every height on every node, every
acknowledged transfer still there, balances sum to the total, no honest
double-sign, evidence for the twin, recovery within ``--recovery-blocks``
block intervals, and ``credichain replay`` (invariants I1-I5) on the stopped
homes. Prints a summary, writes ``summary.json`` into ``--dir``, and exits 1
on any violation (2 on bad arguments).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from rpc.client import RpcConnectionError, RpcError
from scripts.chaos_lib.faults import parse_kinds
from scripts.chaos_lib.runner import ChaosRunner, RunConfig, RunResult


def _args(argv: list[str] | None) -> RunConfig:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of faults")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault schedule")
    parser.add_argument("--faults", default="all", help="all, cheap, or a comma list of kinds")
    parser.add_argument("--dir", type=Path, default=None, help="where the net lives (fresh)")
    parser.add_argument("--accounts", type=int, default=24, help="bank accounts")
    parser.add_argument("--rate", type=float, default=20.0, help="offered transfers per second")
    parser.add_argument(
        "--recovery-blocks",
        type=int,
        default=3,
        help="a halted chain must move within this many block intervals of the heal",
    )
    parser.add_argument(
        "--replay",
        choices=("one", "all", "none"),
        default="one",
        help="replay node0's home, every home, or none after the run",
    )
    parser.add_argument(
        "--invariants-every", type=int, default=10, help="replay checks I1-I5 every N blocks"
    )
    args = parser.parse_args(argv)
    try:
        kinds = parse_kinds(args.faults)
    except ValueError as exc:
        parser.error(str(exc))
    if args.duration <= 0:
        parser.error("--duration must be positive")
    if args.accounts < 2:
        parser.error("--accounts must be at least 2")
    if args.rate <= 0:
        parser.error("--rate must be positive")
    if args.recovery_blocks < 1 or args.invariants_every < 1:
        parser.error("--recovery-blocks and --invariants-every must be at least 1")
    directory = args.dir or Path(tempfile.mkdtemp(prefix="credichain-chaos-"))
    if (directory / "net").exists():
        parser.error(f"--dir {directory} already holds a net; give a fresh directory")
    return RunConfig(
        directory=directory,
        duration=args.duration,
        seed=args.seed,
        kinds=kinds,
        accounts=args.accounts,
        rate=args.rate,
        recovery_blocks=args.recovery_blocks,
        replay_homes=args.replay,
        invariants_every=args.invariants_every,
    )


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values):.2f}s, max {max(values):.2f}s"


def summary_lines(config: RunConfig, result: RunResult) -> list[str]:
    lines = [
        "",
        f"chaos summary (seed {config.seed}, {config.duration:.0f}s of faults, "
        f"kinds {','.join(config.kinds)})",
        f"  faults injected     {len(result.faults)}: "
        + ", ".join(f"{k} {n}" for k, n in result.by_kind().items()),
        f"  block interval      {result.baseline_interval_s * 1000:.0f} ms measured (median, "
        f"under load); recovery limit {config.recovery_blocks} x "
        f"{result.check_interval_s:.2f}s (the slower of it and the propose timeout)",
    ]
    for kind in sorted(result.by_kind()):
        records = [f for f in result.faults if f.kind == kind]
        halted = [f.recovery_s for f in records if f.halted and f.recovery_s is not None]
        catchup = [f.catchup_s for f in records if f.catchup_s is not None]
        lines.append(
            f"  {kind:<10} halted {len(halted)}/{len(records)}; recovery when halted "
            f"{_spread(halted)}; all caught up {_spread(catchup)}"
        )
    bank = result.info.get("bank", {})
    lines += [
        f"  transfers           {bank.get('acknowledged', 0)} acknowledged of "
        f"{bank.get('submitted', 0)} submitted ({bank.get('resubmits', 0)} resubmissions), "
        f"{bank.get('balance_reads', 0)} whole-bank balance reads",
        f"  heights compared    {result.heights_compared} on every node",
        f"  LOST acknowledged   {result.lost_transfers}",
        f"  DIVERGENT heights   {result.divergent_heights}",
        f"  signed commits      {result.info.get('signed_commits')}",
        f"  evidence against    {result.info.get('evidence_against')}, removed from the set "
        f"at {result.info.get('equivocator_removed_at')}",
        f"  replay              {result.info.get('replay')}",
        f"  violations          {len(result.violations)}",
    ]
    lines += [f"    - {v.splitlines()[0]}" for v in result.violations]
    return lines


def main(argv: list[str] | None = None) -> int:
    config = _args(argv)
    print(f"chaos run in {config.directory}", flush=True)
    try:
        result = ChaosRunner(config, say=lambda text: print(text, flush=True)).run()
    except (RuntimeError, RpcConnectionError, RpcError, OSError) as exc:
        # The net could not be set up or driven at all (ports, a node that never
        # starts): no figures to give; the nodes' logs are under --dir.
        print(f"chaos run aborted: {exc}\n(node logs in {config.directory / 'net'})")
        return 1
    print("\n".join(summary_lines(config, result)), flush=True)
    report = {
        "seed": config.seed,
        "duration": config.duration,
        "kinds": list(config.kinds),
        "faults_by_kind": result.by_kind(),
        "faults": [asdict(f) for f in result.faults],
        "baseline_interval_s": result.baseline_interval_s,
        "check_interval_s": result.check_interval_s,
        "heights_compared": result.heights_compared,
        "lost_transfers": result.lost_transfers,
        "divergent_heights": result.divergent_heights,
        "violations": result.violations,
        **result.info,
    }
    (config.directory / "summary.json").write_text(json.dumps(report, indent=2) + "\n")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
