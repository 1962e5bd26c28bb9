"""Commons calls: credit creation by governance (R3).

``mint`` has the governance origin: the governance pallet enacts it after a
passed proposal (G4). Redistribution (R2) is not a call: it runs in the
epoch hook. The share of interest (R1) is taken in the loans repayment path
(``hooks.share_interest``).
"""

from __future__ import annotations

from pallets.commons import api, issuance
from pallets.commons.errors import UnknownFund, ZeroMint
from pallets.commons.events import CreditCreated
from pallets.commons.hooks import add_to_totals
from pallets.funds import api as funds_api
from pallets.support.argtypes import AMOUNT, U32, Optional
from pallets.support.context import CallContext
from pallets.support.declare import GOVERNANCE, CallSet

calls = CallSet("commons")


@calls.call(0, args=(("fund", Optional(U32)), ("amount", AMOUNT)), weight=32, origin=GOVERNANCE)
def mint(ctx: CallContext, fund: int | None, amount: int) -> None:
    """R3: create ``amount`` new units in the commons pool (fund nil) or a fund's cash.

    Refused beyond the year's cap (``issuance.max_issuance`` bps of the
    supply at the year's first mint; years are 365 days of block time from
    genesis).
    """
    if amount <= 0:
        raise ZeroMint("a mint must be positive")
    if fund is None:
        dest = api.pool_account()
    else:
        if funds_api.find_fund(ctx, fund) is None:
            raise UnknownFund(f"there is no fund {fund}")
        dest = funds_api.cash_account(fund)
    window = issuance.mint_within_cap(ctx, dest, amount)
    add_to_totals(ctx, minted=amount)
    ctx.emit(
        CreditCreated,
        fund=fund,
        amount=amount,
        year=window["year"],
        minted_in_year=window["minted"],
    )
