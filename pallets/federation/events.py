"""Federation events: agreements, loss shares and debts are public (F10)."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import AMOUNT, HASH, U8, U32, U64
from pallets.support.declare import EventSet

events = EventSet("federation")

ConsentRecorded: Final = events.define(
    "ConsentRecorded",
    (("fund", U32), ("partner", U32), ("options", U8), ("proposal", U64)),
    doc="a fund's funders consented to federate; the partner's consent is awaited (X1)",
)
AgreementFormed: Final = events.define(
    "AgreementFormed",
    (("low", U32), ("high", U32), ("options", U8)),
    doc="both funds consented with the same options: the agreement is in force (X1)",
)
AgreementEnded: Final = events.define(
    "AgreementEnded",
    (("low", U32), ("high", U32), ("by", U32)),
    doc="a fund's funders consented to leave the agreement (X1)",
)
ConsentWithdrawn: Final = events.define(
    "ConsentWithdrawn",
    (("fund", U32), ("partner", U32)),
    doc="a pending consent was withdrawn by an unfederate proposal (X1)",
)
LossShared: Final = events.define(
    "LossShared",
    (
        ("loan", U64),
        ("fund", U32),
        ("partner", U32),
        ("share", AMOUNT),
        ("paid", AMOUNT),
        ("owed", AMOUNT),
    ),
    doc="a partner's share L / (k + 1) of a write-off: paid now from cash, the rest owed (X3)",
)
DebtPaid: Final = events.define(
    "DebtPaid",
    (("debtor", U32), ("creditor", U32), ("amount", AMOUNT), ("still_owed", AMOUNT)),
    doc="an owed loss share was paid from the debtor's later cash (X3)",
)
CreditSplit: Final = events.define(
    "CreditSplit",
    (("split", HASH), ("parts", U8), ("amount", AMOUNT)),
    doc="requests in federated funds were linked as one split credit (X2)",
)
