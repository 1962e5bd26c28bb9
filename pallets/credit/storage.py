"""Credit storage: requests (C1-C8), approval records (C9), the hooks' queues.

Keys: ``credit/next_id``; ``credit/request/<id u64>``; ``credit/approval/<id u64>``;
``credit/by_fund/<fund u32><id u64>`` (listing by fund);
``credit/draw_due/<height u64><id u64>`` (draws to run at or after a height);
``credit/deadline/<time u64><id u64>`` (review_max of each review round);
``credit/cooldown/<fund u32><account 32>`` (C6: until when a borrower of a
request withdrawn after its draw may not submit to that fund);
``credit/purged/<document hash 32>`` (F10: documents governance had erased
from every node's document store, with the height of the purge).

A request's free texts and documents are not in the state (F10): it holds
their blake2b-256 hashes; the texts live in each node's document store
(node/daemon/documents.py, docs/credit.md "Documents off the chain").
"""

from __future__ import annotations

from typing import Final

from pallets.funds.storage import MAX_FUNDERS, PURPOSE
from pallets.loans.storage import MAX_BORROWERS
from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BPS,
    DURATION,
    HASH,
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
from pallets.support.storage import U64_KEY, FixedKey, StorageSet
from pallets.trust.storage import STAKE

MAX_DOCUMENTS: Final = 8
MAX_PROVIDERS: Final = 8
MAX_ENDORSEMENTS: Final = 32
MAX_DRAWS: Final = 8
MAX_INSTALLMENTS: Final = 120

STATUSES: Final = (
    "awaiting_signatures",
    "awaiting_draw",
    "in_review",
    "needs_improvement",
    "approved",
    "declined",
    "expired",
    "withdrawn",
    "unreviewable",
)
OPEN_STATUSES: Final = frozenset(STATUSES[:4])
VERDICTS: Final = ("approve", "decline", "improve")

CANDIDATE: Final = Record("candidate", (("account", ACCOUNT), ("trust", AMOUNT)))
DRAW: Final = Record(
    "draw",
    (
        ("height", U64),
        ("seed", HASH),
        ("keep", List(ACCOUNT, MAX_FUNDERS)),
        ("excluded", List(ACCOUNT, MAX_FUNDERS)),
        ("panel", List(ACCOUNT, MAX_FUNDERS)),
        # the candidates with the trust each could bring at this draw (T5)
        ("candidates", List(CANDIDATE, MAX_FUNDERS)),
    ),
)
VERDICT: Final = Record(
    "verdict", (("reviewer", ACCOUNT), ("verdict", Enum(VERDICTS)), ("conclusions_hash", HASH))
)
ACCEPTANCE: Final = Record("acceptance", (("reviewer", ACCOUNT), ("by", ACCOUNT)))

REQUEST: Final = RecordType(
    "request",
    (
        ("fund", U32),
        ("submitter", ACCOUNT),
        ("borrowers", List(ACCOUNT, MAX_BORROWERS)),
        ("signed", List(ACCOUNT, MAX_BORROWERS)),
        ("amount", AMOUNT),
        ("purpose", PURPOSE),
        ("recipient", ACCOUNT),
        ("term", DURATION),
        ("installments", U16),
        ("what_hash", HASH),
        ("repayment_good_hash", HASH),
        ("repayment_bad_hash", HASH),
        ("trust_reasons_hash", HASH),
        ("documents", List(HASH, MAX_DOCUMENTS)),
        ("providers", List(ACCOUNT, MAX_PROVIDERS)),
        ("status", Enum(STATUSES)),
        ("created", U64),
        ("valid_at", U64),
        ("valid_height", U64),
        ("round", U16),
        ("score", U8),
        ("endorsements", List(ACCOUNT, MAX_ENDORSEMENTS)),
        ("candidates", List(CANDIDATE, MAX_FUNDERS)),
        ("draws", List(DRAW, MAX_DRAWS)),
        ("reviewers", List(ACCOUNT, MAX_FUNDERS)),
        ("excluded", List(ACCOUNT, MAX_FUNDERS)),
        ("conflicts", List(ACCOUNT, MAX_FUNDERS)),
        ("acceptances", List(ACCEPTANCE, MAX_FUNDERS * 4)),
        ("verdicts", List(VERDICT, MAX_FUNDERS)),
        # the trust each party has in use for this request (T5): borrowers, then reviewers
        ("reserved", List(STAKE, MAX_BORROWERS + MAX_FUNDERS)),
    ),
)

PARTY: Final = Record("party", (("account", ACCOUNT), ("trust", AMOUNT), ("brought", AMOUNT)))
INSTALLMENT: Final = Record(
    "installment", (("due", U64), ("principal", AMOUNT), ("interest", AMOUNT))
)
APPROVAL: Final = RecordType(
    "approval",
    (
        ("fund", U32),
        ("amount", AMOUNT),
        ("start", U64),
        ("end", U64),
        ("rate_bps", BPS),
        ("estimated_interest", AMOUNT),
        ("schedule", List(INSTALLMENT, MAX_INSTALLMENTS)),
        ("borrowers", List(PARTY, MAX_BORROWERS)),
        ("reviewers", List(PARTY, MAX_FUNDERS)),
        ("conclusions_hash", HASH),
        ("min_reviewers", U32),
        ("size", AMOUNT),
        ("outstanding_after", AMOUNT),
        ("max_credit_bps", BPS),
        ("max_utilization_bps", BPS),
        ("recipient", ACCOUNT),
        ("purpose", PURPOSE),
    ),
)

storage = StorageSet("credit")

NEXT_REQUEST: Final = storage.value("next_id", U64, default=0, doc="id of the next request")
REQUESTS: Final = storage.map(
    "request", U64_KEY, Optional(REQUEST.record), default=None, doc="credit requests (C1-C8)"
)
APPROVALS: Final = storage.map(
    "approval", U64_KEY, Optional(APPROVAL.record), default=None, doc="approval records (C9)"
)
BY_FUND: Final = storage.map(
    "by_fund", FixedKey("fund_id", 4 + 8), U8, default=0, doc="request ids by fund (value 1)"
)
DRAW_DUE: Final = storage.map(
    "draw_due",
    FixedKey("height_id", 8 + 8),
    U8,
    default=0,
    doc="reviewer draws to run at the first block at or after a height (C6)",
)
CONFLICT_DUE: Final = storage.map(
    "conflict_due",
    FixedKey("time_id_account", 8 + 8 + 32),
    U8,
    default=0,
    doc="declared conflicts by the end of their conflict_window: silence replaces (C7)",
)
DEADLINES: Final = storage.map(
    "deadline",
    FixedKey("time_id", 8 + 8),
    U8,
    default=0,
    doc="review rounds by their review_max deadline (C8 expiry)",
)
# Keyed by account first, so that a person's cooldowns follow them to a new key (G1).
MAX_COOLDOWNS_MOVED: Final = 16
COOLDOWNS: Final = storage.map(
    "cooldown",
    FixedKey("account_fund", 32 + 4),
    U64,
    default=0,
    doc="time until which a borrower of a request withdrawn after its draw may not "
    "submit to the fund (C6, resubmit_cooldown)",
)
PURGED: Final = storage.map(
    "purged",
    FixedKey("document", 32),
    U64,
    default=0,
    doc="documents erased by governance from every node's document store, with the height "
    "of the purge (F10); 0: not purged",
)
