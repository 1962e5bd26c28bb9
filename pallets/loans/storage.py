"""Loans storage.

Keys: ``loans/loan/<id u64>`` (the loan of approved request id);
``loans/open/<fund u32><id u64>`` (active loans of a fund, for reports and F7);
``loans/by_fund/<fund u32><id u64>`` (every loan of a fund);
``loans/history/<account>`` (repaid and written-off credits, for C5);
``loans/extension_vote/<id u64><reviewer>`` (L5), ``loans/writeoff_vote/<id u64><voter>`` (L6).
"""

from __future__ import annotations

from typing import Final

from pallets.funds.storage import MAX_FUNDERS, PURPOSE
from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BPS,
    DURATION,
    U8,
    U16,
    U32,
    U64,
    Enum,
    List,
    Optional,
    Record,
)
from pallets.support.records import RecordType
from pallets.support.storage import ACCOUNT_KEY, U64_KEY, FixedKey, StorageSet
from pallets.trust.storage import STAKE

MAX_BORROWERS: Final = 8

LOAN_STATUS: Final = Enum(("active", "repaid", "written_off"))
LOAN: Final = RecordType(
    "loan",
    (
        ("fund", U32),
        ("recipient", ACCOUNT),
        ("borrowers", List(ACCOUNT, MAX_BORROWERS)),
        ("reviewers", List(ACCOUNT, MAX_FUNDERS)),
        ("purpose", PURPOSE),
        ("principal", AMOUNT),
        ("outstanding", AMOUNT),
        ("rate_bps", BPS),
        ("start", U64),
        ("term", DURATION),
        ("installments", U16),
        ("extension", U64),
        ("interest_due", AMOUNT),
        ("remainder", U64),
        ("last_accrual", U64),
        ("principal_paid", AMOUNT),
        ("interest_paid", AMOUNT),
        ("status", LOAN_STATUS),
        ("closed", U64),
        ("missing", AMOUNT),
        # what each borrower and reviewer brought (T5); their exposure follows the principal
        ("stakes", List(STAKE, MAX_BORROWERS + MAX_FUNDERS)),
    ),
)
HISTORY_RECORD: Final = Record("history", (("repaid", U32), ("written_off", U32)))

storage = StorageSet("loans")

LOANS: Final = storage.map(
    "loan", U64_KEY, Optional(LOAN.record), default=None, doc="loans by request id (L1-L6)"
)
OPEN: Final = storage.map(
    "open", FixedKey("fund_id", 4 + 8), U8, default=0, doc="active loans of each fund (value 1)"
)
BY_FUND: Final = storage.map(
    "by_fund", FixedKey("fund_id", 4 + 8), U8, default=0, doc="every loan of each fund (value 1)"
)
HISTORY: Final = storage.map(
    "history",
    ACCOUNT_KEY,
    HISTORY_RECORD,
    default=[0, 0],
    doc="credits a borrower repaid and had written off (an input of C5)",
)
EXTENSION_VOTES: Final = storage.map(
    "extension_vote",
    FixedKey("id_account", 8 + 32),
    U64,
    default=0,
    doc="seconds of extension each reviewer voted for (L5)",
)
WRITEOFF_VOTES: Final = storage.map(
    "writeoff_vote",
    FixedKey("id_account", 8 + 32),
    U8,
    default=0,
    doc="votes to write a loan off (L6), by reviewers and funders",
)
