"""Funds storage (F1-F10).

Keys: ``funds/next_id``; ``funds/fund/<id u32>``; ``funds/funder/<id u32><account>``;
``funds/proposal/<pid u64>``; ``funds/proposal_due/<ends u64><pid u64>`` (the
consent queue the hook walks in time order); ``funds/admitted/<id><account>``
(F4 consent given, the candidate may join); ``funds/removal_vote/<id><target><voter>``;
``funds/exit/<id><requested u64><account>`` (the F5 exit queue, oldest first);
``funds/exit_progress/<same key>`` (an exit paid in part: its claim, fixed at the
first payment, and what was paid); ``funds/exit_count/<id>`` and
``funds/exit_waiting`` (queued exits per fund, funds with any: the hook probes
these instead of walking the queue) and ``funds/exit_cursor`` (the fund id the
hook starts from next block).
"""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    BPS,
    HASH,
    U32,
    U64,
    Enum,
    List,
    Optional,
    Text,
)
from pallets.support.records import RecordType
from pallets.support.storage import U32_KEY, U64_KEY, FixedKey, StorageSet

PURPOSES: Final = (
    "productive_enterprise",
    "creative_project",
    "community_infrastructure",
    "ecological_restoration",
    "educational_initiative",
)
PURPOSE: Final = Enum(PURPOSES)
FUND_STATUS: Final = Enum(("forming", "active"))
PROPOSAL_KINDS: Final = ("new_funder", "interest_rate", "expense")  # what funds.propose takes
# Kinds another pallet opens and carries out through ``api.open_proposal`` and
# ``api.PROPOSAL_HANDLERS``: the federation pallet's agreements (X1).
FEDERATION_KINDS: Final = ("federate", "unfederate")
ALL_PROPOSAL_KINDS: Final = PROPOSAL_KINDS + FEDERATION_KINDS
PROPOSAL_STATUS: Final = Enum(("open", "passed", "rejected", "failed"))

MAX_NAME: Final = 64
MAX_SCOPE: Final = 280
MAX_FUNDERS: Final = 64  # bounds every walk over a fund's funders

FUND: Final = RecordType(
    "fund",
    (
        ("name", Text(MAX_NAME)),
        ("scope", Text(MAX_SCOPE)),
        ("bioregion", Optional(U32)),
        ("policy_hash", HASH),
        ("conduct_hash", HASH),
        ("contribution", AMOUNT),
        ("rate_bps", BPS),
        ("purposes", List(PURPOSE, len(PURPOSES), min_len=1, unique=True)),
        ("status", FUND_STATUS),
        ("creator", ACCOUNT),
        ("created", U64),
        ("funders", U32),
        ("outstanding", AMOUNT),
        ("interest_income", AMOUNT),
        ("losses", AMOUNT),
        ("expenses", AMOUNT),
        ("exits_paid", AMOUNT),
    ),
)
FUNDER: Final = RecordType(
    "funder",
    (("joined", U64), ("paid", AMOUNT), ("leaving_since", Optional(U64)), ("removed", BOOL)),
)
PROPOSAL: Final = RecordType(
    "proposal",
    (
        ("fund", U32),
        ("kind", Enum(ALL_PROPOSAL_KINDS)),
        ("proposer", ACCOUNT),
        ("subject", Optional(ACCOUNT)),  # the candidate funder, or the expense's payee
        ("amount", AMOUNT),  # the expense
        ("rate_bps", BPS),  # the new interest rate
        ("apply_to_open", BOOL),  # F7: a lower rate may also apply to open credits
        ("reason_hash", HASH),
        ("created", U64),
        ("ends", U64),
        ("status", PROPOSAL_STATUS),
        ("objector", Optional(ACCOUNT)),
    ),
)
EXIT_PROGRESS_RECORD: Final = RecordType(
    "exit_progress",
    (("claim", AMOUNT), ("paid", AMOUNT)),  # paid < claim while the exit is queued
)

FUND_ACCOUNT_KEY: Final = FixedKey("fund_account", 4 + 32)
DUE_KEY: Final = FixedKey("time_id", 8 + 8)
VOTE_KEY: Final = FixedKey("fund_target_voter", 4 + 32 + 32)
EXIT_KEY: Final = FixedKey("fund_time_account", 4 + 8 + 32)

storage = StorageSet("funds")

NEXT_FUND: Final = storage.value("next_id", U32, default=0, doc="id of the next fund")
FUNDS: Final = storage.map(
    "fund", U32_KEY, Optional(FUND.record), default=None, doc="funds by id (F1)"
)
FUNDERS: Final = storage.map(
    "funder",
    FUND_ACCOUNT_KEY,
    Optional(FUNDER.record),
    default=None,
    doc="the funders of each fund: when they joined, what they paid, whether leaving (F5/F6)",
)
NEXT_PROPOSAL: Final = storage.value(
    "next_proposal", U64, default=0, doc="id of the next consent proposal"
)
# Seats a key change moves (G1); a person with more changes keys seat by seat.
MAX_SEATS_MOVED: Final = 16
FUNDER_OF: Final = storage.map(
    "funder_of",
    FixedKey("account_fund", 32 + 4),
    BOOL,
    default=False,
    doc="the funds an account is a funder of (index, so that a seat follows a new key, G1)",
)
PROPOSALS: Final = storage.map(
    "proposal", U64_KEY, Optional(PROPOSAL.record), default=None, doc="consent proposals (F8)"
)
PROPOSAL_DUE: Final = storage.map(
    "proposal_due",
    DUE_KEY,
    BOOL,
    default=False,
    doc="open proposals by the time their consent period ends (the hook's queue)",
)
ADMITTED: Final = storage.map(
    "admitted",
    FUND_ACCOUNT_KEY,
    BOOL,
    default=False,
    doc="candidates the funders consented to admit (F4); cleared when they join",
)
REMOVAL_VOTES: Final = storage.map(
    "removal_vote", VOTE_KEY, BOOL, default=False, doc="votes to remove a funder (F6)"
)
EXITS: Final = storage.map(
    "exit",
    EXIT_KEY,
    BOOL,
    default=False,
    doc="funders waiting to be paid their claim, oldest first (F5)",
)
EXIT_PROGRESS: Final = storage.map(
    "exit_progress",
    EXIT_KEY,
    Optional(EXIT_PROGRESS_RECORD.record),
    default=None,
    doc="exits paid in part (F5): the claim, fixed at the first payment, and what was paid",
)
EXIT_COUNT: Final = storage.map(
    "exit_count", U32_KEY, U32, default=0, doc="queued exits of each fund (F5)"
)
EXIT_WAITING: Final = storage.value(
    "exit_waiting", U32, default=0, doc="number of funds with a queued exit (F5)"
)
EXIT_CURSOR: Final = storage.value(
    "exit_cursor",
    U32,
    default=0,
    doc="the fund id where the exit hook starts next block (F5: every fund gets its turn)",
)
