"""Seeded consensus simulations: every scenario must keep safety and liveness.

``CREDICHAIN_SIM_SCENARIOS`` (default 2000) sets how many seeds the run
covers, in chunks of ``CHUNK`` seeds per test; ``make test-sim`` sets it to
100 000. Every failure names its seed and the command that replays it; pin
failures in ``regressions.json``, which runs every time.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from .scenario import make_idle_scenario, make_scenario, replay_hint, run_seed

SCENARIOS = int(os.environ.get("CREDICHAIN_SIM_SCENARIOS", "2000"))
CHUNK = 100
# Scenarios whose nodes make blocks only when there is work (a tenth of the above).
IDLE_SCENARIOS = max(CHUNK, SCENARIOS // 10)
REGRESSIONS = json.loads((Path(__file__).parent / "regressions.json").read_text())["seeds"]


def failures_of(seeds: range | list[int], *, idle: bool = False) -> list[str]:
    failures = []
    for seed in seeds:
        hint = replay_hint(seed, idle=idle)
        try:
            outcome = run_seed(seed, idle=idle)
        except Exception as exc:  # a crash of the core or harness is a failure too
            failures.append(f"seed {seed}: raised {exc!r}\n  replay: {hint}")
            continue
        if outcome.violations:
            listed = "\n    ".join(outcome.violations[:5])
            failures.append(
                f"seed {seed}: {outcome.scenario.describe()}\n    {listed}\n  replay: {hint}"
            )
    return failures


@pytest.mark.parametrize(
    "start",
    range(0, SCENARIOS, CHUNK),
    ids=lambda s: f"seeds-{s}-{min(s + CHUNK, SCENARIOS) - 1}",
)
def test_seeded_scenarios_keep_safety_and_liveness(start: int) -> None:
    failures = failures_of(range(start, min(start + CHUNK, SCENARIOS)))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "start",
    range(0, IDLE_SCENARIOS, CHUNK),
    ids=lambda s: f"idle-seeds-{s}-{min(s + CHUNK, IDLE_SCENARIOS) - 1}",
)
def test_nodes_that_wait_for_work_keep_safety_and_liveness(start: int) -> None:
    """The same faults, with blocks only when there is work (create_empty_blocks = false)."""
    failures = failures_of(range(start, min(start + CHUNK, IDLE_SCENARIOS)), idle=True)
    assert not failures, "\n".join(failures)


def test_waits_for_work_end_by_transaction_by_peer_and_by_heartbeat() -> None:
    """The idle scenarios exercise every way a wait ends."""
    waits = 0
    woken: Counter[str] = Counter()
    for seed in range(40):
        sim = run_seed(seed, idle=True).sim
        waits += sim.idle_waits
        woken.update(sim.woken)
    assert make_idle_scenario(0).idle_ms > 0
    assert waits >= 40 and min(woken.values()) >= 10, (waits, woken)


@pytest.mark.parametrize("seed", [r["seed"] for r in REGRESSIONS])
def test_pinned_regressions(seed: int) -> None:
    failures = failures_of([seed])
    assert not failures, "\n".join(failures)


def test_the_default_run_covers_both_sizes_twins_equivocators_and_all_faults() -> None:
    counts: Counter[str] = Counter()
    for seed in range(min(SCENARIOS, 2000)):
        s = make_scenario(seed)
        counts[f"n={s.n}"] += 1
        counts.update(b for b in s.behaviours if b != "honest")
        counts["twins n=4"] += s.n == 4 and "twin" in s.behaviours
        counts["twins n=7"] += s.n == 7 and "twin" in s.behaviours
        counts["partition"] += bool(s.partitions)
        counts["crash"] += bool(s.crashes)
        counts["drop"] += s.drop > 0
        counts["duplicate"] += s.duplicate > 0
        counts["weighted"] += len(set(s.powers)) > 1
        counts["set change"] += s.set_change is not None
    for feature in ("n=4", "n=7", "twins n=4", "twins n=7", "equivocator", "partition", "crash",
                    "drop", "duplicate", "weighted", "set change"):  # fmt: skip
        assert counts[feature] >= min(SCENARIOS, 2000) // 20, (feature, counts)


def test_the_checks_have_something_to_check() -> None:
    """Equivocations are seen and turned into evidence; WALs are torn and replayed."""
    evidence = torn = replays = 0
    for seed in range(120):
        scenario = make_scenario(seed)
        if not scenario.crashes and "equivocator" not in scenario.behaviours:
            continue
        sim = run_seed(seed).sim
        torn += sim.torn_tails
        for node in sim.nodes:
            if node.honest:
                evidence += sum(len(inc.evidence) for inc in node.incarnations)
                replays += len(node.incarnations) - 1
    assert evidence >= 10 and torn >= 5 and replays >= 20, (evidence, torn, replays)
