"""Balances genesis: initial balances, module accounts (the commons pool), total issuance."""

from __future__ import annotations

from pallets.balances.currency import AMOUNT_MAX, COMMONS, register_module_account
from pallets.balances.storage import FREE, TOTAL_ISSUANCE
from pallets.support.context import CallContext
from pallets.support.declare import RuntimeFault
from pallets.support.genesis_config import GenesisConfig


def build(config: GenesisConfig, ctx: CallContext) -> None:
    register_module_account(ctx, COMMONS)
    total = 0
    endowed: list[tuple[bytes, int]] = list(config.balances)
    for name, amount in config.module_balances:
        endowed.append((register_module_account(ctx, name), amount))
    seen: set[bytes] = set()
    for account, amount in endowed:
        if account in seen:
            raise RuntimeFault(f"genesis endows 0x{account.hex()} twice")
        seen.add(account)
        if amount < 0:
            raise RuntimeFault(f"genesis balance of 0x{account.hex()} is negative")
        FREE.put(ctx, account, amount)
        total += amount
    if total > AMOUNT_MAX:
        raise RuntimeFault(f"genesis total supply {total} exceeds 2**64 - 1")
    TOTAL_ISSUANCE.put(ctx, total)
