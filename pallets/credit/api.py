"""What the credit pallet offers others: the hook through which funds lend reviewers.

``LENDER_SOURCES`` (connected in pallets/construct.py; the federation pallet's
agreements, X1): given a fund, the funds that lend it their funders as
reviewers when its own cannot cover a request (C6). With none connected a
request is reviewed by its own fund's funders only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from pallets.support.context import CallContext
from pallets.support.wiring import Hook

# (ctx, fund) -> the funds that lend their funders as reviewers to it (C6, X1).
LenderSource = Callable[[CallContext, int], list[int]]
LENDER_SOURCES: Final = Hook[LenderSource](
    "credit.lender_sources", "the funds that lend a fund their funders as reviewers (C6, X1)"
)
