"""Trust storage: ``trust/index/<fund u32><account>`` -> the trust index, in minor units.

Absent means "never changed": the index is then T1's initial value (a share
of the fund's contribution C), computed on read. Zero is stored as 0, so an
index that fell to zero (T4) is not confused with a new one.
"""

from __future__ import annotations

from typing import Final

from pallets.runtime.argtypes import AMOUNT, Optional
from pallets.runtime.storage import FixedKey, StorageSet

storage = StorageSet("trust")

TRUST: Final = storage.map(
    "index",
    FixedKey("fund_account", 4 + 32),
    Optional(AMOUNT),
    default=None,
    doc="trust index of an account at a fund; absent = trust_initial of C (T1)",
)
