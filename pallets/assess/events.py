"""Assessment events (C5)."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import U8, U32, U64
from pallets.support.declare import EventSet

events = EventSet("assess")

NetworkModelInstalled: Final = events.define(
    "NetworkModelInstalled",
    (("version", U32),),
    doc="governance installed network coefficients; requests made from now on use them (C5)",
)
FundModelProposed: Final = events.define(
    "FundModelProposed",
    (("fund", U32), ("proposal", U64), ("min_score", U8)),
    doc="a funder proposed coefficients and a minimum score for the fund (C5, F8)",
)
FundModelInstalled: Final = events.define(
    "FundModelInstalled",
    (("fund", U32), ("version", U32), ("min_score", U8)),
    doc="the fund's consent installed its coefficients (version 0: unchanged) and minimum (C5)",
)
