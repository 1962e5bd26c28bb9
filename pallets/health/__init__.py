"""The health pallet: bioregions, oracle rounds, health scores, on-chain measures (H1-H3).

Governance registers bioregions and their oracles; each epoch the oracles
observe five components, the epoch's value is their median and the score
their weighted sum; the chain publishes its own measures (credit velocity,
participation) beside them. The commons pallet reads the scores (R2).
"""

from __future__ import annotations

from typing import Final

from pallets.health import calls, errors, events, genesis, hooks, queries, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="health",
    index=22,
    doc="Bioregions, oracle rounds, health scores and on-chain measures (H1-H3).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    constants={
        "max_bioregions": storage.MAX_BIOREGIONS,
        "max_oracles": storage.MAX_ORACLES,
        "max_funds_per_bioregion": storage.MAX_FUNDS_PER_BIOREGION,
        "history_epochs": storage.HISTORY_EPOCHS,
        "components": ",".join(storage.COMPONENTS),
    },
    hooks=hooks.HOOKS,
    genesis=genesis.build,
)
