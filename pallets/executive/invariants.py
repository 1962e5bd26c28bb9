"""Invariant checks (``try_state``): run after every block in tests and in replay.

``check_invariants`` asks every pallet's ``try_state`` hook, in pallet order,
and returns every problem found (empty when all hold). A node must halt
rather than commit a state that fails them (DESIGN.md §3). Some checks walk a
whole storage map (I1 sums every balance), so the node runs them in tests,
in replay and on demand, not on every block in production.
"""

from __future__ import annotations

from ledger.overlay import StateReader
from pallets.executive.registry import PalletRegistry
from pallets.support.context import ReadContext


def check_invariants(registry: PalletRegistry, state: StateReader) -> list[str]:
    problems: list[str] = []
    reader = ReadContext(state, wiring=registry.wiring)
    for pallet in registry.pallets:
        if pallet.hooks.try_state is not None:
            problems.extend(pallet.hooks.try_state(reader))
    return problems
