"""Payment events: they open the receipt of every extrinsic that paid or used allowance."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, AMOUNT, U64
from pallets.support.declare import EventSet

events = EventSet("payment")

FeePaid: Final = events.define(
    "FeePaid",
    (("who", ACCOUNT), ("fee", AMOUNT), ("allowance", U64)),
    doc="the signer paid fee into the commons pool, or used allowance weight instead (P1, P2)",
)
DustReaped: Final = events.define(
    "DustReaped",
    (("who", ACCOUNT), ("amount", AMOUNT)),
    doc="a fee left a non-member below the existential deposit; the rest went to the pool (P3)",
)
