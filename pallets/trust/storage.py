"""Trust storage: ``trust/index/<fund u32><account>`` -> the trust index, in minor units.

Absent means "never changed": the index is then T1's initial value (a share
of the fund's contribution C), computed on read. Zero is stored as 0, so an
index that fell to zero (T4) is not confused with a new one.

``trust/in_use/<fund u32><account>`` is the trust of the account in use at
the fund (T5): the sum of its stakes in open requests and in the
outstanding principal of open loans; absent means none.

``trust/funds_of/<account><fund u32>`` indexes the funds where an account
has a stored index or trust in use, so that a person's trust can follow them
to a new key (G1 key rotation) without walking every fund.
"""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, AMOUNT, BOOL, U32, Optional, Record
from pallets.support.storage import ACCOUNT_KEY, FixedKey, StorageSet

storage = StorageSet("trust")

TRUST: Final = storage.map(
    "index",
    FixedKey("fund_account", 4 + 32),
    Optional(AMOUNT),
    default=None,
    doc="trust index of an account at a fund; absent = trust_initial of C (T1)",
)
IN_USE: Final = storage.map(
    "in_use",
    FixedKey("fund_account", 4 + 32),
    AMOUNT,
    default=0,
    doc="trust of an account in use at a fund: its stakes in open requests and loans (T5)",
)

FUNDS_OF: Final = storage.map(
    "funds_of",
    FixedKey("account_fund", 32 + 4),
    BOOL,
    default=False,
    doc="funds where an account has a stored trust index or trust in use (index, G1)",
)
# A key change moves at most this many funds' trust (the rotation's weight bounds it).
MAX_FUNDS_MOVED: Final = 64
NAMED: Final = storage.map(
    "named",
    ACCOUNT_KEY,
    U32,
    default=0,
    doc="open requests and loans whose stakes name the account, a stake of 0 included "
    "(T5; a key named there cannot be handed over or revoked, G1)",
)

# What one party has at stake in a request or loan: the trust it brought (C3, C6).
STAKE: Final = Record("stake", (("account", ACCOUNT), ("amount", AMOUNT)))
