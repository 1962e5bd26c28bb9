"""The commons pallet: the commons pool, credit creation and redistribution (R1-R3).

The pool is the balances module account ``commons``, filled at genesis, by
governance mints (within a yearly cap) and by a share of fund interest; at
each epoch end a share of it is granted to active funds in bioregions,
weighted by their bioregion's need, by largest remainder.
"""

from __future__ import annotations

from typing import Final

from pallets.commons import calls, errors, events, hooks, queries, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="commons",
    index=23,
    doc="The commons pool: credit creation within a yearly cap, redistribution by need (R1-R3).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    constants={"kept_rounds": storage.KEPT_ROUNDS},
    hooks=hooks.HOOKS,
)
