"""Balances calls."""

from __future__ import annotations

from pallets.balances import currency
from pallets.runtime.argtypes import ACCOUNT, AMOUNT
from pallets.runtime.context import CallContext
from pallets.runtime.declare import CallSet

calls = CallSet("balances")


# Weight: read the sender's and the receiver's balance, write both.
@calls.call(0, args=(("dest", ACCOUNT), ("amount", AMOUNT)), weight=4)
def transfer(ctx: CallContext, dest: bytes, amount: int) -> None:
    """Move ``amount`` minor units from the signer to ``dest``.

    Refused when the amount is zero (B1) or above the signer's balance (I2).
    There are no fees (docs/runtime.md).
    """
    currency.transfer(ctx, ctx.signer, dest, amount)
