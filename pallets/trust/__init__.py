"""The trust pallet: the trust index per (account, fund), T1-T4.

No calls: trust changes only as credits are repaid (T3) or written off (T4),
through ``pallets.trust.api``. The T2 federation lookup is a plug-in point
(``FEDERATION_SOURCES``) for the federation pallet.
"""

from __future__ import annotations

from typing import Final

from pallets.support.declare import Pallet
from pallets.trust import events, hooks, queries, storage

PALLET: Final = Pallet(
    name="trust",
    index=11,
    doc="Trust index per account and fund (T1-T4).",
    events=tuple(events.events.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    hooks=hooks.HOOKS,
)
