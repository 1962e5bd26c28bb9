"""Funds events: every movement of a fund is public (F10)."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, AMOUNT, BPS, HASH, U32, U64, Text
from pallets.support.declare import EventSet

events = EventSet("funds")

FundCreated: Final = events.define(
    "FundCreated",
    (("fund", U32), ("creator", ACCOUNT), ("cash_account", ACCOUNT), ("contribution", AMOUNT)),
    doc="a fund was created; the creator paid C into its cash account (F1)",
)
FunderJoined: Final = events.define(
    "FunderJoined", (("fund", U32), ("funder", ACCOUNT), ("paid", AMOUNT)), doc="F2/F4"
)
FundActivated: Final = events.define(
    "FundActivated", (("fund", U32),), doc="the fund reached min_funders and may lend (F2)"
)
ProposalMade: Final = events.define(
    "ProposalMade",
    (("fund", U32), ("proposal", U64), ("kind", Text(16)), ("ends", U64)),
    doc="a consent proposal opened (F8)",
)
ProposalObjected: Final = events.define(
    "ProposalObjected",
    (("proposal", U64), ("objector", ACCOUNT), ("reason_hash", HASH)),
    doc="a funder objected: the proposal is rejected (F8)",
)
ProposalPassed: Final = events.define(
    "ProposalPassed", (("proposal", U64),), doc="no objection by the end of the period (F8)"
)
ProposalFailed: Final = events.define(
    "ProposalFailed",
    (("proposal", U64), ("reason", Text(128))),
    doc="a passed proposal could not be carried out (e.g. an expense above cash)",
)
RateChanged: Final = events.define(
    "RateChanged",
    (("fund", U32), ("rate_bps", BPS), ("applies_to_open", U32)),
    doc="the interest rate changed (F7); applies_to_open is 1 if open credits follow",
)
ExpensePaid: Final = events.define(
    "ExpensePaid", (("fund", U32), ("payee", ACCOUNT), ("amount", AMOUNT)), doc="F9"
)
RemovalVoted: Final = events.define(
    "RemovalVoted",
    (("fund", U32), ("target", ACCOUNT), ("voter", ACCOUNT), ("votes", U32)),
    doc="a funder voted to remove another (F6)",
)
ExitRequested: Final = events.define(
    "ExitRequested",
    (("fund", U32), ("funder", ACCOUNT), ("removed", U32)),
    doc="a funder entered the exit queue (F5; removed=1 when by F6)",
)
ExitPaid: Final = events.define(
    "ExitPaid",
    (("fund", U32), ("funder", ACCOUNT), ("claim", AMOUNT), ("amount", AMOUNT)),
    doc="a leaving funder was paid the rest of their claim (amount; claim in all) and left (F5)",
)
ExitPartlyPaid: Final = events.define(
    "ExitPartlyPaid",
    (("fund", U32), ("funder", ACCOUNT), ("amount", AMOUNT), ("owed", AMOUNT)),
    doc="a leaving funder was paid what cash allowed; owed is the rest, paid first from "
    "later cash (F5)",
)
