"""Balances events."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, AMOUNT
from pallets.support.declare import EventSet

events = EventSet("balances")

Transferred: Final = events.define(
    "Transferred",
    (("sender", ACCOUNT), ("dest", ACCOUNT), ("amount", AMOUNT)),
    doc="amount moved from sender to dest",
)
Minted: Final = events.define(
    "Minted", (("dest", ACCOUNT), ("amount", AMOUNT)), doc="new units created (R3)"
)
Burned: Final = events.define(
    "Burned", (("source", ACCOUNT), ("amount", AMOUNT)), doc="units destroyed"
)
