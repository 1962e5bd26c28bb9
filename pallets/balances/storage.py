"""Balances storage: ``balances/free/<account>`` and ``balances/total_issuance``,
plus the registry of module accounts ``balances/module/<account>`` -> name.
"""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import AMOUNT, Text
from pallets.support.storage import ACCOUNT_KEY, StorageSet

MAX_MODULE_NAME: Final = 64

storage = StorageSet("balances")

FREE: Final = storage.map(
    "free", ACCOUNT_KEY, AMOUNT, default=0, doc="free balance of an account, in minor units"
)
TOTAL_ISSUANCE: Final = storage.value(
    "total_issuance", AMOUNT, default=0, doc="total supply: the sum of every balance (I1)"
)
MODULE_ACCOUNTS: Final = storage.map(
    "module",
    ACCOUNT_KEY,
    Text(MAX_MODULE_NAME),
    default="",
    doc="module accounts (fund cash, commons pool) by account id, with their names",
)
