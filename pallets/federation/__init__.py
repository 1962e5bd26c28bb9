"""The federation pallet: agreements between funds and what they open (X1-X3, T2, C6).

Two funds federate by the consent of each fund's funders (F8), on three
independent options: recognize each other's trust (T2), lend reviewers
(C6), share losses (X3). A borrower may split one credit across federated
funds (X2). This pallet offers functions for the other pallets' hooks;
pallets/construct.py connects them:

* ``funds.proposal_handlers``: carry out passed federate / unfederate
  proposals (``agreements.carry_out_federate``, ``carry_out_unfederate``);
  ``funds.obligations``: pay loss-share debts first (``losses.settle``);
* ``trust.federation_sources``: recognized trust (T2, ``agreements.recognized_trust``);
* ``credit.lender_sources``: funds that lend reviewers (C6, ``agreements.lending_funds``);
* ``loans.write_offs``: share a write-off (X3, ``losses.share_loss``).
"""

from __future__ import annotations

from typing import Final

from pallets.federation import calls, errors, events, hooks, losses, queries, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="federation",
    index=14,
    doc="Agreements between funds: recognized trust, lent reviewers, shared losses (X1-X3).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
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
