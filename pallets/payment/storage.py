"""Payment storage: the allowance each person used in an epoch, fee totals."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import AMOUNT, U64, Optional, Record
from pallets.support.storage import ACCOUNT_KEY, StorageSet

# [epoch, weight used in it]
USAGE: Final = Record("allowance_usage", (("epoch", U64), ("used", U64)))

storage = StorageSet("payment")

ALLOWANCE_USED: Final = storage.map(
    "allowance_used",
    ACCOUNT_KEY,
    Optional(USAGE),
    default=None,
    doc="community allowance used by a member, in weight, and the epoch it counts in (P2)",
)
FEES_COLLECTED: Final = storage.value(
    "fees_collected", AMOUNT, default=0, doc="every fee paid into the commons pool so far (P1)"
)
DUST_COLLECTED: Final = storage.value(
    "dust_collected", AMOUNT, default=0, doc="every balance reaped below the existential deposit"
)
