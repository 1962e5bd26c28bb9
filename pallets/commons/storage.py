"""Commons storage (R1-R3).

The pool itself is the balances module account ``commons`` (its balance is
the pool, so I1 covers it). Here:

* ``commons/issuance``: the current issuance year window: its index, the
  total supply when the window's first mint happened (the cap's base), and
  what was minted in it (R3).
* ``commons/totals``: running totals: minted, received from fund interest,
  granted (for the books; never used to compute a grant).
* ``commons/round/<epoch u64>``: one redistribution: pool before, amount
  taken, funds granted; ``commons/grant/<epoch u64><fund u32>``: each grant.
  The last ``KEPT_ROUNDS`` rounds are kept.
"""

from __future__ import annotations

from typing import Final

from pallets.health.storage import BIOREGION
from pallets.support.argtypes import AMOUNT, BPS, U32, U64, Optional
from pallets.support.records import RecordType
from pallets.support.storage import U64_KEY, FixedKey, StorageSet

KEPT_ROUNDS: Final = 32

ISSUANCE: Final = RecordType(
    "issuance_year", (("year", U64), ("base_supply", AMOUNT), ("minted", AMOUNT))
)
TOTALS: Final = RecordType(
    "commons_totals", (("minted", AMOUNT), ("from_interest", AMOUNT), ("granted", AMOUNT))
)
ROUND: Final = RecordType(
    "redistribution",
    (("pool_before", AMOUNT), ("taken", AMOUNT), ("funds", U32), ("share_bps", BPS)),
)
GRANT: Final = RecordType("grant", (("bioregion", BIOREGION), ("need", BPS), ("amount", AMOUNT)))
GRANT_KEY: Final = FixedKey("epoch_fund", 8 + 4)

storage = StorageSet("commons")

ISSUANCE_YEAR: Final = storage.value(
    "issuance",
    Optional(ISSUANCE.record),
    default=None,
    doc="the issuance year window: index, base supply, minted so far (R3)",
)
TOTAL: Final = storage.value(
    "totals",
    Optional(TOTALS.record),
    default=None,
    doc="running totals of the pool: minted, from interest, granted (R1-R3)",
)
ROUNDS: Final = storage.map(
    "round",
    U64_KEY,
    Optional(ROUND.record),
    default=None,
    doc="redistribution rounds by the epoch they closed (R2), the last KEPT_ROUNDS",
)
GRANTS: Final = storage.map(
    "grant",
    GRANT_KEY,
    Optional(GRANT.record),
    default=None,
    doc="each grant of a round, by epoch and fund (R2)",
)
