"""Seeded scenarios: generate, run, check, and replay one from the command line.

Theory of operation
-------------------
``make_scenario(seed)`` draws, from ``random.Random(seed)`` alone, a whole
run: n (4 or 7), equal or weighted powers, which validators are byzantine
(twins or equivocators, always less than a third of the power), message
delays, drops, duplication, partitions that heal, crashes with restarts, and
the time GST after which the network is synchronous and fault-free. Faults
only happen before GST; liveness is then required by ``deadline``.

``make_unsafe_scenario(seed)`` breaks the model on purpose — twins of 2 of 4
validators, half of the power — so the checks must be able to catch a
safety violation (see ``test_checker_can_fail.py``).

Replay a seed (prints the scenario, the outcome and any violation)::

    .venv/bin/python -m tests.sim.scenario --seed 1234 [--unsafe | --idle]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from random import Random

from consensus import TimeoutStep
from ledger.types import Validator, ValidatorSet

from . import checks
from .harness import SIM_TIMEOUTS, Simulation, validator_key

# Liveness: after GST every honest node must decide HEIGHTS_AFTER_GST more
# heights beyond the highest one any honest node had decided at GST, within
# LIVENESS_ROUNDS rounds per height (see docs/consensus.md, "Liveness in the
# simulator"); the deadline is the virtual time those rounds can take.
HEIGHTS_AFTER_GST = 2
LIVENESS_ROUNDS = 12


@dataclass
class Scenario:
    seed: int
    powers: list[int]
    behaviours: list[str]  # per validator: honest | twin | equivocator
    delay_ms: tuple[int, int]
    drop: float
    duplicate: float
    gst_ms: int
    partitions: list[tuple[int, int, dict[int, int]]] = field(default_factory=list)
    crashes: list[tuple[int, int, int]] = field(default_factory=list)  # (iid, crash, restart)
    skews: list[int] = field(default_factory=list)
    block_interval_ms: int = 100
    # > 0: blocks when there is work, with a heartbeat idle_ms after each decision.
    idle_ms: int = 0
    # (height K, powers from K on, one per validator incl. a spare; 0 = not a member).
    set_change: tuple[int, list[int]] | None = None
    unsafe: bool = False

    @property
    def n(self) -> int:
        return len(self.powers)

    def instances(self) -> list[tuple[int, str, int]]:
        out: list[tuple[int, str, int]] = []
        for i, behaviour in enumerate(self.behaviours):
            copies = 2 if behaviour == "twin" else 1
            out.extend((i, behaviour, self.skews[i]) for _ in range(copies))
        if self.set_change is not None:  # the spare validator's node: an observer at first
            out.append((self.n, "honest", 0))
        return out

    def validator_sets(self) -> dict[int, ValidatorSet]:
        def of(powers: list[int]) -> ValidatorSet:
            return ValidatorSet.of(
                [Validator(validator_key(i).public, p) for i, p in enumerate(powers) if p > 0]
            )

        sets = {1: of(self.powers)}
        if self.set_change is not None:
            sets[self.set_change[0]] = of(self.set_change[1])
        return sets

    def describe(self) -> str:
        byz = {i: b for i, b in enumerate(self.behaviours) if b != "honest"}
        parts = [f"[{s}-{e}ms]" for s, e, _ in self.partitions]
        change = (
            ""
            if self.set_change is None
            else f" set_change(from h{self.set_change[0]})={self.set_change[1]}"
        )
        crashes = [f"node{i}@{c}->{r}ms" for i, c, r in self.crashes]
        return (
            f"seed={self.seed} n={self.n} powers={self.powers} byzantine={byz} "
            f"delay={self.delay_ms} drop={self.drop} dup={self.duplicate} gst={self.gst_ms} "
            f"partitions={parts} crashes={crashes} block_interval={self.block_interval_ms}{change}"
            + (f" idle(heartbeat {self.idle_ms}ms)" if self.idle_ms else "")
        )


def _split(rng: Random, instances: list[tuple[int, str, int]]) -> dict[int, int]:
    """A two-way partition of instances; the two copies of a twin never share a side."""
    groups: dict[int, int] = {}
    seen: dict[int, int] = {}
    for iid, (vindex, behaviour, _) in enumerate(instances):
        if behaviour == "twin" and vindex in seen:
            groups[iid] = 1 - seen[vindex]
        else:
            groups[iid] = rng.randint(0, 1)
            seen[vindex] = groups[iid]
    return groups


def make_scenario(seed: int) -> Scenario:
    rng = Random(seed)
    n = rng.choice((4, 7))
    weighted = rng.random() < 0.25
    powers = [rng.randint(1, 4) if weighted else 1 for _ in range(n)]
    total = sum(powers)
    behaviours = ["honest"] * n
    wanted = rng.randint(0, (n - 1) // 3)
    byz_power = 0
    for i in rng.sample(range(n), n):
        if wanted == 0:
            break
        if 3 * (byz_power + powers[i]) < total:
            behaviours[i] = rng.choice(("twin", "equivocator"))
            byz_power += powers[i]
            wanted -= 1
    skews = [rng.randint(-40, 40) for _ in range(n)]
    gst = 0 if rng.random() < 0.2 else rng.randint(200, 4000)
    scenario = Scenario(
        seed=seed,
        powers=powers,
        behaviours=behaviours,
        delay_ms=(1, rng.choice((5, 20, 50))),
        drop=rng.choice((0.0, 0.0, 0.05, 0.2, 0.4)) if gst else 0.0,
        duplicate=rng.choice((0.0, 0.0, 0.1)),
        gst_ms=gst,
        skews=skews,
        block_interval_ms=rng.choice((20, 100, 200)),
    )
    if rng.random() < 0.2:
        scenario.set_change = _set_change(rng, powers, behaviours)
    instances = scenario.instances()
    if gst:
        t = 0
        for _ in range(rng.randint(0, 2)):
            start = rng.randint(t, gst)
            end = rng.randint(start, gst)
            scenario.partitions.append((start, end, _split(rng, instances)))
            t = end
        for _ in range(rng.randint(0, 2)):
            iid = rng.randrange(len(instances))
            crash = rng.randint(0, gst)
            scenario.crashes.append((iid, crash, rng.randint(crash, gst)))
    return scenario


def _set_change(
    rng: Random, powers: list[int], behaviours: list[str]
) -> tuple[int, list[int]] | None:
    """A change returned while executing block K-2, so in force from height K."""
    new = [*powers, 0]  # index n: the spare validator
    honest = [i for i, b in enumerate(behaviours) if b == "honest"]
    kind = rng.choice(("join", "leave", "reweigh"))
    if kind == "join":
        new[-1] = rng.randint(1, 3)
    elif kind == "leave":
        new[rng.choice(honest)] = 0
    else:
        new[rng.choice(honest)] = rng.randint(1, 5)
    byzantine = sum(p for p, b in zip(new, [*behaviours, "honest"], strict=True) if b != "honest")
    if 3 * byzantine >= sum(new):
        return None  # the new set would give the byzantine validators a third
    return rng.randint(3, 5), new


def make_idle_scenario(seed: int) -> Scenario:
    """``make_scenario(seed)`` with nodes that make blocks only when there is work."""
    scenario = make_scenario(seed)
    scenario.idle_ms = Random(seed ^ 0x1D1E).choice((300, 1000, 2500))
    return scenario


def make_unsafe_scenario(seed: int) -> Scenario:
    """Twins of 2 of 4 validators: byzantine power 1/2, outside the model."""
    rng = Random(seed)
    scenario = Scenario(
        seed=seed,
        powers=[1, 1, 1, 1],
        behaviours=["honest", "honest", "twin", "twin"],
        delay_ms=(1, 20),
        drop=0.0,
        duplicate=0.0,
        gst_ms=rng.randint(300, 3000),
        skews=[0, 0, 0, 0],
        unsafe=True,
    )
    scenario.partitions.append((0, scenario.gst_ms, _split(rng, scenario.instances())))
    return scenario


@dataclass
class Outcome:
    scenario: Scenario
    sim: Simulation
    violations: list[str]
    target_height: int

    @property
    def max_round(self) -> int:
        return max(
            (r for node in self.sim.nodes if node.honest for r, _, _ in node.decisions.values()),
            default=0,
        )


def build(scenario: Scenario) -> Simulation:
    sim = Simulation(
        scenario.seed,
        scenario.validator_sets(),
        scenario.instances(),
        delay_ms=scenario.delay_ms,
        drop=scenario.drop,
        duplicate=scenario.duplicate,
        block_interval_ms=scenario.block_interval_ms,
        idle_ms=scenario.idle_ms,
    )
    for start, end, groups in scenario.partitions:
        sim.network_at(start, groups=groups)
        sim.network_at(end, groups=None)
    if scenario.drop:
        sim.network_at(scenario.gst_ms, drop=0.0)
    for iid, crash, restart in scenario.crashes:
        sim.crash_at(crash, iid)
        sim.restart_at(restart, iid)
    return sim


def liveness_deadline_ms(scenario: Scenario, sim: Simulation, heights: int) -> int:
    """The virtual time by which ``heights`` more heights must be decided after GST.

    Each height gets LIVENESS_ROUNDS rounds at the timeouts of the rounds that
    follow the highest round an honest node had reached at GST, plus the pause
    between heights (the heartbeat, when nodes wait for work).
    """
    timeouts = SIM_TIMEOUTS
    start_round = max((n.core.round for n in sim.nodes if n.honest), default=0)
    total = 0
    for r in range(start_round, start_round + LIVENESS_ROUNDS):
        total += sum(timeouts.duration_ms(step, r) for step in TimeoutStep)
    pause = max(scenario.block_interval_ms, scenario.idle_ms)
    return scenario.gst_ms + heights * (total + pause)


def run(scenario: Scenario, *, amnesia: bool = False) -> Outcome:
    """Run and check ``scenario``; ``amnesia`` restarts nodes without WAL or signer state."""
    sim = build(scenario)
    for node in sim.nodes:
        node.forget_on_restart = amnesia
    honest = [node for node in sim.nodes if node.honest]
    sim.start()
    sim.run(scenario.gst_ms, lambda: False)
    decided_at_gst = {h for node in honest for h in node.decisions}
    rounds_at_gst: dict[int, int] = {}
    for node in honest:
        if node.alive and node.core.height not in node.decisions:
            h = node.core.height
            rounds_at_gst[h] = max(rounds_at_gst.get(h, 0), node.core.round)
    lowest = min(max(n.decisions, default=0) for n in honest)
    target = max(max(n.decisions, default=0) for n in honest) + HEIGHTS_AFTER_GST
    if scenario.set_change is not None:  # run past the change, so that it is exercised
        target = max(target, scenario.set_change[0] + 1)
    deadline = liveness_deadline_ms(scenario, sim, target - lowest)
    sim.run(deadline, lambda: all(target in node.decisions for node in honest))
    violations = checks.safety(sim)
    if not scenario.unsafe:
        violations += checks.liveness(sim, target, decided_at_gst, rounds_at_gst, LIVENESS_ROUNDS)
    return Outcome(scenario, sim, violations, target)


def run_seed(seed: int, *, unsafe: bool = False, idle: bool = False) -> Outcome:
    if unsafe:
        return run(make_unsafe_scenario(seed))
    return run(make_idle_scenario(seed) if idle else make_scenario(seed))


def replay_hint(seed: int, *, unsafe: bool = False, idle: bool = False) -> str:
    flag = " --unsafe" if unsafe else " --idle" if idle else ""
    return f".venv/bin/python -m tests.sim.scenario --seed {seed}{flag}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replay one simulated consensus scenario.")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--unsafe", action="store_true", help="twins of 2 of 4 validators")
    parser.add_argument("--idle", action="store_true", help="blocks only when there is work")
    args = parser.parse_args(argv)
    outcome = run_seed(args.seed, unsafe=args.unsafe, idle=args.idle)
    sim = outcome.sim
    print(outcome.scenario.describe())
    print(f"virtual time {sim.now} ms, {sim.messages} messages, max round {outcome.max_round}")
    for node in sim.nodes:
        decided = {h: (r, bh.hex()[:12]) for h, (r, bh, _) in sorted(node.decisions.items())}
        print(f"  node {node.iid} (validator {node.vindex}, {node.behaviour}): {decided}")
    for v in outcome.violations:
        print("VIOLATION", v)
    return 1 if outcome.violations else 0


if __name__ == "__main__":
    sys.exit(main())
