"""Trust events."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, AMOUNT, U32, Text
from pallets.support.declare import EventSet

events = EventSet("trust")

TrustChanged: Final = events.define(
    "TrustChanged",
    (("fund", U32), ("account", ACCOUNT), ("old", AMOUNT), ("new", AMOUNT), ("rule", Text(4))),
    doc="a trust index rose (T3) or fell (T4)",
)
