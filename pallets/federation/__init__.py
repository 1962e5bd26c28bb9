"""The federation pallet: agreements between funds and what they open (X1-X3, T2, C6).

Two funds federate by the consent of each fund's funders (F8), on three
independent options: recognize each other's trust (T2), lend reviewers
(C6), share losses (X3). A borrower may split one credit across federated
funds (X2). This pallet plugs into the others through their extension
points, registered here on import (the runtime imports every pallet):

* ``funds.api.PROPOSAL_HANDLERS``: carry out passed federate / unfederate
  proposals; ``funds.api.OBLIGATIONS``: pay loss-share debts first;
* ``trust.api.FEDERATION_SOURCES``: recognized trust (T2);
* ``credit.lifecycle.LENDER_SOURCES``: funds that lend reviewers (C6);
* ``loans.api.WRITE_OFF_LISTENERS``: share a write-off (X3).
"""

from __future__ import annotations

from typing import Final

from pallets.credit import lifecycle
from pallets.federation import agreements, calls, errors, events, hooks, losses, storage
from pallets.funds import api as funds_api
from pallets.loans import api as loans_api
from pallets.support.declare import Pallet
from pallets.trust import api as trust_api

PALLET: Final = Pallet(
    name="federation",
    index=14,
    doc="Agreements between funds: recognized trust, lent reviewers, shared losses (X1-X3).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    constants={
        "max_partners": storage.MAX_PARTNERS,
        "max_split_parts": storage.MAX_SPLIT_PARTS,
        "option_trust": storage.TRUST,
        "option_reviewers": storage.REVIEWERS,
        "option_losses": storage.LOSSES,
        "max_settle": losses.MAX_SETTLE,
        "max_sweep_per_block": losses.MAX_SWEEP_PER_BLOCK,
    },
    hooks=hooks.HOOKS,
)

funds_api.PROPOSAL_HANDLERS["federate"] = agreements.carry_out_federate
funds_api.PROPOSAL_HANDLERS["unfederate"] = agreements.carry_out_unfederate
funds_api.OBLIGATIONS.append(losses.settle)
trust_api.FEDERATION_SOURCES.append(agreements.recognized_trust)
lifecycle.LENDER_SOURCES.append(agreements.lending_funds)
loans_api.WRITE_OFF_LISTENERS.append(losses.share_loss)
