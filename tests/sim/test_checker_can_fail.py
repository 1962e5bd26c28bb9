"""A checker that cannot fail proves nothing: break the model and watch it fail.

With twins of 2 of 4 validators the byzantine power is 1/2, beyond the 1/3
the protocol tolerates; partitions that put each copy of a twin on a
different side let each side gather more than 2/3 of the votes and decide
its own block. A bounded search over seeds must find an agreement violation.
"""

from __future__ import annotations

from .checks import no_double_signing
from .scenario import make_scenario, run, run_seed


def test_twins_of_half_the_power_break_agreement_within_a_bounded_search() -> None:
    found = []
    for seed in range(40):
        outcome = run_seed(seed, unsafe=True)
        if any(v.startswith("agreement:") for v in outcome.violations):
            found.append(seed)
    assert found, "40 unsafe scenarios and the checker reported no agreement violation"
    assert len(found) < 40  # some splits keep both honest nodes on one side: no violation


def test_a_node_without_its_signer_state_is_caught_double_signing() -> None:
    """Restart nodes with no WAL and no signer state: the double-sign check must see it."""
    for seed in range(200):
        scenario = make_scenario(seed)
        if scenario.crashes and no_double_signing(run(scenario, amnesia=True).sim):
            return
    raise AssertionError("200 seeds with amnesiac restarts and no double signing was seen")
