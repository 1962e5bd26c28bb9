"""The money API other pallets use: balances, transfers, mint, burn, module accounts.

Every unit lives in some account's free balance; fund cash and the commons
pool are *module accounts* (ids derived from a name, no private key), so I1
(sum of balances = total issuance) covers every unit. Only ``mint`` and
``burn`` change the total issuance, each by exactly the amount (R3).
"""

from __future__ import annotations

from typing import Final

from ledger.crypto import blake2b256
from ledger.overlay import StateReader
from pallets.balances.errors import InsufficientBalance, SupplyOverflow, ZeroAmount
from pallets.balances.events import Burned, Minted, Transferred
from pallets.balances.storage import FREE, MODULE_ACCOUNTS, TOTAL_ISSUANCE
from pallets.support.context import CallContext
from pallets.support.storage import StateWriter

MODULE_DOMAIN: Final = b"credichain/module/"
AMOUNT_MAX: Final = 2**64 - 1
COMMONS: Final = "commons"


def module_account(name: str) -> bytes:
    """The account id of a module (``commons``, ``fund/<id>``): blake2b256(domain + name)."""
    return blake2b256(MODULE_DOMAIN + name.encode("utf-8"))


def register_module_account(state: StateWriter, name: str) -> bytes:
    account = module_account(name)
    MODULE_ACCOUNTS.put(state, account, name)
    return account


def is_module_account(state: StateReader, account: bytes) -> bool:
    """Whether ``account`` is a registered module account (no key signs for it)."""
    return MODULE_ACCOUNTS.contains(state, account)


def free_balance(state: StateReader, account: bytes) -> int:
    value: int = FREE.get(state, account)
    return value


def total_issuance(state: StateReader) -> int:
    value: int = TOTAL_ISSUANCE.get(state)
    return value


def transfer(ctx: CallContext, source: bytes, dest: bytes, amount: int) -> None:
    """Move ``amount`` from ``source`` to ``dest``; refuse zero and overdrafts."""
    if amount <= 0:
        raise ZeroAmount("the amount must be positive")
    available = free_balance(ctx, source)
    if available < amount:
        raise InsufficientBalance(f"balance {available} is less than the amount {amount}")
    if source != dest:
        FREE.put(ctx, source, available - amount)
        FREE.put(ctx, dest, free_balance(ctx, dest) + amount)
    ctx.emit(Transferred, sender=source, dest=dest, amount=amount)


def mint(ctx: CallContext, dest: bytes, amount: int) -> None:
    """Create ``amount`` new units in ``dest`` (callers enforce R3's cap)."""
    if amount <= 0:
        raise ZeroAmount("the amount must be positive")
    supply = total_issuance(ctx)
    if supply + amount > AMOUNT_MAX:
        raise SupplyOverflow(f"minting {amount} would take the supply past 2**64 - 1")
    TOTAL_ISSUANCE.put(ctx, supply + amount)
    FREE.put(ctx, dest, free_balance(ctx, dest) + amount)
    ctx.emit(Minted, dest=dest, amount=amount)


def burn(ctx: CallContext, source: bytes, amount: int) -> None:
    if amount <= 0:
        raise ZeroAmount("the amount must be positive")
    available = free_balance(ctx, source)
    if available < amount:
        raise InsufficientBalance(f"balance {available} is less than the amount {amount}")
    FREE.put(ctx, source, available - amount)
    TOTAL_ISSUANCE.put(ctx, total_issuance(ctx) - amount)
    ctx.emit(Burned, source=source, amount=amount)
