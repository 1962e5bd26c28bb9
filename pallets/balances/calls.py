"""Balances calls."""

from __future__ import annotations

from pallets.balances import currency
from pallets.balances.errors import BelowExistentialDeposit, WouldLeaveDust
from pallets.balances.storage import MODULE_ACCOUNTS
from pallets.support.argtypes import ACCOUNT, AMOUNT
from pallets.support.context import CallContext
from pallets.support.declare import CallSet
from pallets.support.params import param

calls = CallSet("balances")


# Weight: the parameter, both balances and module marks read; both balances written.
@calls.call(0, args=(("dest", ACCOUNT), ("amount", AMOUNT)), weight=9)
def transfer(ctx: CallContext, dest: bytes, amount: int) -> None:
    """Move ``amount`` minor units from the signer to ``dest``.

    Refused when the amount is zero (B1), above the signer's balance (I2), or
    would leave either side holding less than the existential deposit but
    more than nothing (P3; module accounts are exempt). The fee is charged
    before the call (P1, the payment pallet).
    """
    deposit = param(ctx, "balances", "existential_deposit")
    signer = ctx.signer
    if signer != dest and amount > 0:
        left = currency.free_balance(ctx, signer) - amount
        if 0 < left < deposit and not MODULE_ACCOUNTS.contains(ctx, signer):
            raise WouldLeaveDust(
                f"{left} would be left, below the existential deposit {deposit}: "
                "send all of it or keep at least the deposit"
            )
        received = currency.free_balance(ctx, dest) + amount
        if received < deposit and not MODULE_ACCOUNTS.contains(ctx, dest):
            raise BelowExistentialDeposit(
                f"dest would hold {received}, below the existential deposit {deposit}"
            )
    currency.transfer(ctx, signer, dest, amount)
