"""The payment pallet: fees (P1), the community allowance (P2), existence (P3).

Every included extrinsic pays ``base_fee + length × byte_fee + weight ×
weight_fee`` into the commons pool (R1), charged by the executor before the
call runs, so a failing call pays too. A registered person (G1) has
``allowance_weight`` of fee-free weight per epoch for the community calls
(``community.COMMUNITY_CALLS``). A non-member left below the existential
deposit by a fee is reaped: the dust goes to the pool too. The parameters
are governance parameters (``payment`` section); docs/runtime.md §fees.
"""

from __future__ import annotations

from typing import Final

from pallets.payment import community, events, fees, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="payment",
    index=2,
    doc="Transaction fees into the commons pool (P1), the community allowance (P2), "
    "reaping of dust (P3).",
    events=tuple(events.events.defs),
    storage=tuple(storage.storage.items),
    constants={
        "community_calls": ",".join(f"{p}.{c}" for p, c in community.COMMUNITY_CALLS),
    },
    payment=fees.PAYMENT,
)
