"""The governance pallet: quadratic voting by members on calls from the governance list.

Members (pallets/members) propose calls from the list (G4) with a
refundable deposit; each round every member has ``voice_credits`` that are
neither transferable nor carried over (G2); ``v`` votes cost ``v²`` (G3); at
the end of a proposal's voting round it passes by majority and quorum,
validator changes by a larger majority (G5), and a passed call is enacted
with the governance origin after ``enactment_delay``. See docs/governance.md.
"""

from __future__ import annotations

from typing import Final

from pallets.governance import calls, errors, events, genesis, hooks, queries, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="governance",
    index=21,
    doc="Quadratic voting by members on proposed governance calls (G2-G5).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    constants={"max_call_bytes": storage.MAX_CALL_BYTES, "kinds": ",".join(storage.KINDS)},
    hooks=hooks.HOOKS,
    genesis=genesis.build,
)
