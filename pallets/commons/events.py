"""Commons events: every unit minted, shared and granted is public (R1-R3)."""

from __future__ import annotations

from typing import Final

from pallets.health.storage import BIOREGION
from pallets.support.argtypes import AMOUNT, BPS, U32, U64, Optional
from pallets.support.declare import EventSet

events = EventSet("commons")

CreditCreated: Final = events.define(
    "CreditCreated",
    (("fund", Optional(U32)), ("amount", AMOUNT), ("year", U64), ("minted_in_year", AMOUNT)),
    doc="governance minted new units into the pool (fund nil) or a fund's cash (R3)",
)
InterestShared: Final = events.define(
    "InterestShared",
    (("fund", U32), ("amount", AMOUNT)),
    doc="a fund's share of interest received went to the commons pool (R1)",
)
Granted: Final = events.define(
    "Granted",
    (("epoch", U64), ("fund", U32), ("bioregion", BIOREGION), ("need", BPS), ("amount", AMOUNT)),
    doc="a redistribution grant from the pool into a fund's cash (R2)",
)
Redistributed: Final = events.define(
    "Redistributed",
    (("epoch", U64), ("taken", AMOUNT), ("funds", U32)),
    doc="a redistribution round: the amount taken from the pool equals the grants' sum (R2)",
)
