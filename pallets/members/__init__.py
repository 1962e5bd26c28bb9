"""The members pallet: governance members registered by bioregion registrars (G1).

Governance names registrars per bioregion; a registrar registers a person's
account with the hash of an attestation it checked off chain (no personal
data on chain); one membership per account and one per attestation (one
person, one membership). The governance pallet reads ``api.is_member`` and
``api.member_count`` (quorum, G5).
"""

from __future__ import annotations

from typing import Final

from pallets.members import calls, errors, events, genesis, hooks, queries, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="members",
    index=20,
    doc="Governance members, registered by bioregion registrars on attestation hashes (G1).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    constants={"max_registrars": storage.MAX_REGISTRARS},
    hooks=hooks.HOOKS,
    genesis=genesis.build,
)
