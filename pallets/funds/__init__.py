"""The funds pallet: community banks (F1-F10).

A fund is created by its first funder, becomes active with ``min_funders``,
grows and spends by consent of its funders, and pays leaving funders their
claim before any new credit. Its cash is a balances module account; its
outstanding principal is kept by the loans pallet on the fund record.
"""

from __future__ import annotations

from typing import Final

from pallets.funds import calls, errors, events, hooks, queries, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="funds",
    index=10,
    doc="Community banks: funders, consent, exits, cash and hard limits (F1-F10, C4).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    constants={"max_funders": storage.MAX_FUNDERS, "purposes": ",".join(storage.PURPOSES)},
    hooks=hooks.HOOKS,
)
