"""The loans pallet: disbursement, schedule, exact interest, repayment, lateness,
extensions, write-off and fund reports (L1-L7, T3, T4).
"""

from __future__ import annotations

from typing import Final

from pallets.loans import api as _api  # noqa: F401  (registers the F7 listener)
from pallets.loans import calls, errors, events, hooks, interest, queries, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="loans",
    index=13,
    doc="Loans: disbursement, schedule, interest, repayment, write-off, reports (L1-L7).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    constants={"interest_denominator": str(interest.DENOMINATOR)},
    hooks=hooks.HOOKS,
)
