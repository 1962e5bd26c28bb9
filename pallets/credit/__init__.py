"""The credit pallet: requests, co-signatures, pooled trust, assessment score,
the random reviewer draw, conflicts, resolution and approval records (C1-C9).
"""

from __future__ import annotations

from typing import Final

from pallets.credit import calls, errors, events, hooks, queries, storage
from pallets.loans.storage import MAX_BORROWERS
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="credit",
    index=12,
    doc="Credit requests, reviewer draws and resolution (C1-C9).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    constants={
        "max_borrowers": MAX_BORROWERS,
        "draw_delay_blocks": 2,
    },
    hooks=hooks.HOOKS,
)
