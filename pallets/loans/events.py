"""Loans events: every movement of a fund's money is public (F10)."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, AMOUNT, U32, U64
from pallets.support.declare import EventSet

events = EventSet("loans")

Disbursed: Final = events.define(
    "Disbursed",
    (("loan", U64), ("fund", U32), ("recipient", ACCOUNT), ("amount", AMOUNT)),
    doc="the credit moved from fund cash to the recipient; the loan is active (L1)",
)
Repaid: Final = events.define(
    "Repaid",
    (("loan", U64), ("payer", ACCOUNT), ("interest", AMOUNT), ("principal", AMOUNT)),
    doc="a payment: interest first, then principal (L4)",
)
LoanClosedRepaid: Final = events.define(
    "LoanClosedRepaid", (("loan", U64),), doc="repaid in full; trust rose (T3)"
)
ExtensionVoted: Final = events.define(
    "ExtensionVoted", (("loan", U64), ("reviewer", ACCOUNT), ("seconds", U64)), doc="L5"
)
Extended: Final = events.define(
    "Extended", (("loan", U64), ("seconds", U64)), doc="every reviewer agreed: due dates moved"
)
WriteOffVoted: Final = events.define("WriteOffVoted", (("loan", U64), ("voter", ACCOUNT)), doc="L6")
WrittenOff: Final = events.define(
    "WrittenOff",
    (("loan", U64), ("missing", AMOUNT), ("interest_lost", AMOUNT)),
    doc="the missing principal is a loss to the fund; trust fell (L6, T4)",
)
RateLowered: Final = events.define(
    "RateLowered", (("loan", U64), ("rate_bps", U32)), doc="a lower fund rate applies (F7)"
)
