"""Consensus figures from the deterministic simulator (tests/sim), with their conditions.

Prints:

1. simulator throughput: seeded default scenarios (the ones ``make test``
   runs) per second of wall time, and core inputs per second;
2. rounds per height and messages per height for n = 4, 7, 10, 20 equal-power
   validators, with no faults and with one validator crashed from the start
   (it is the proposer of one round in n).

Usage: ``.venv/bin/python scripts/bench_consensus.py [--scenarios 300] [--heights 30]``.
All figures are virtual-time simulations on one core; wall times depend on
the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.types import Validator, ValidatorSet
from tests.sim.harness import GOSSIP_MS, SIM_TIMEOUTS, Simulation, validator_key
from tests.sim.scenario import run_seed

DELAY_MS = (1, 20)
BLOCK_INTERVAL_MS = 100


def throughput(scenarios: int) -> None:
    start = time.perf_counter()
    cpu = time.process_time()
    steps = failures = 0
    for seed in range(scenarios):
        outcome = run_seed(seed)
        steps += outcome.sim.steps
        failures += bool(outcome.violations)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    print(f"simulator: {scenarios} default scenarios (seeds 0..{scenarios - 1}) in {wall:.1f} s")
    print(f"  {scenarios / wall:.1f} scenarios/s wall, {scenarios / cpu:.1f}/s per CPU second")
    print(f"  {steps / cpu:,.0f} core inputs/s (core + simulated node shell, one thread)")
    print(f"  scenarios with violations: {failures}")


def per_height(n: int, heights: int, crashed: bool) -> tuple[float, int, float, float]:
    vs = ValidatorSet.of([Validator(validator_key(i).public, 1) for i in range(n)])
    sim = Simulation(
        n * 1000 + crashed,
        {1: vs},
        [(i, "honest", 0) for i in range(n)],
        delay_ms=DELAY_MS,
        block_interval_ms=BLOCK_INTERVAL_MS,
    )
    sim.start()
    live = sim.nodes
    if crashed:
        # The proposer of height 1, round 0 crashes at once and never returns.
        victim = next(node for node in sim.nodes if node.address == node.core.proposer(1, 0))
        sim.crash_at(0, victim.iid)
        live = [node for node in sim.nodes if node is not victim]
    sim.run(10**9, lambda: all(heights in node.decisions for node in live))
    rounds = [node.decisions[h][0] + 1 for node in live for h in range(1, heights + 1)]
    return (
        sum(rounds) / len(rounds),
        max(rounds),
        sim.messages / heights,
        sim.now / heights,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=300)
    parser.add_argument("--heights", type=int, default=30)
    args = parser.parse_args()
    throughput(args.scenarios)
    print()
    print(
        f"per height, {args.heights} heights, equal powers, delays uniform {DELAY_MS} ms, "
        f"block interval {BLOCK_INTERVAL_MS} ms, timeouts propose/prevote/precommit "
        f"{SIM_TIMEOUTS.propose_ms}/{SIM_TIMEOUTS.prevote_ms}/{SIM_TIMEOUTS.precommit_ms} ms "
        f"+{SIM_TIMEOUTS.delta_ms} ms/round, gossip re-send after {GOSSIP_MS} ms without progress"
    )
    print("messages = point-to-point sends (a broadcast to n-1 peers counts n-1)")
    print(f"{'n':>3} {'faults':<22} {'rounds/height':>14} {'max':>4} {'msgs/height':>12} "
          f"{'ms/height':>10}")  # fmt: skip
    for n in (4, 7, 10, 20):
        for crashed in (False, True):
            mean, worst, msgs, ms = per_height(n, args.heights, crashed)
            label = "one proposer crashed" if crashed else "none"
            print(f"{n:>3} {label:<22} {mean:>14.2f} {worst:>4} {msgs:>12.0f} {ms:>10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
