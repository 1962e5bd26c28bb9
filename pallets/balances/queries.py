"""Queries of the balances pallet: an account's free balance, the total supply (I1)."""

from __future__ import annotations

from typing import Any, Final

from pallets.balances.currency import free_balance, total_issuance
from pallets.support.argtypes import ACCOUNT, AMOUNT
from pallets.support.queries import QueryReader, QuerySet, Struct

BALANCE: Final = Struct("balance", (("free", AMOUNT),))

queries = QuerySet("balances")


@queries.query("getBalance", args=(("address", ACCOUNT),), result=BALANCE)
def get_balance(state: QueryReader, address: bytes) -> dict[str, Any]:
    """Free balance of an account in minor units."""
    return {"free": free_balance(state, address)}


@queries.query("totalIssuance", result=AMOUNT)
def get_total_issuance(state: QueryReader) -> int:
    """Total supply in minor units (invariant I1: the sum of all balances)."""
    return total_issuance(state)
