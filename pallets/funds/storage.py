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

from pallets.funds.types import (
    PURPOSE as PURPOSE,  # the argument type of a purpose (credit and loans records)
)
from pallets.funds.types import (
    AccountFund,
    ExitKey,
    ExitProgress,
    Fund,
    FundAccount,
    Funder,
    Proposal,
    ProposalDue,
    ProposalKind,
    Purpose,
    RemovalVote,
)
from pallets.support.argtypes import BOOL, U32, U64
from pallets.support.records import TypedRecord, record_map
from pallets.support.storage import U32_KEY, U64_KEY, StorageSet

PURPOSES: Final = tuple(purpose.value for purpose in Purpose)
# What funds.propose takes; the federation pallet opens and carries out the
# others through ``api.open_proposal`` and ``api.PROPOSAL_HANDLERS`` (X1).
FUNDS_KINDS: Final = (ProposalKind.NEW_FUNDER, ProposalKind.INTEREST_RATE, ProposalKind.EXPENSE)
PROPOSAL_KINDS: Final = tuple(kind.value for kind in FUNDS_KINDS)
FEDERATION_KINDS: Final = (ProposalKind.FEDERATE, ProposalKind.UNFEDERATE)
# kinds carried out by another pallet's handler (funds.proposal_handlers)
HANDLED_KINDS: Final = (*FEDERATION_KINDS, ProposalKind.SCORE_MODEL)

MAX_FUNDERS: Final = 64  # bounds every walk over a fund's funders

FUND: Final = TypedRecord("fund", Fund)
FUNDER: Final = TypedRecord("funder", Funder)
PROPOSAL: Final = TypedRecord("proposal", Proposal)
EXIT_PROGRESS_RECORD: Final = TypedRecord("exit_progress", ExitProgress)

FUND_ACCOUNT_KEY: Final = FundAccount.codec("fund_account")
EXIT_KEY: Final = ExitKey.codec("fund_time_account")

storage = StorageSet("funds")

NEXT_FUND: Final = storage.value("next_id", U32, default=0, doc="id of the next fund")
FUNDS: Final = record_map(storage, "fund", U32_KEY, FUND, doc="funds by id (F1)")
FUNDERS: Final = record_map(
    storage,
    "funder",
    FUND_ACCOUNT_KEY,
    FUNDER,
    doc="the funders of each fund: when they joined, what they paid, whether leaving (F5/F6)",
)
NEXT_PROPOSAL: Final = storage.value(
    "next_proposal", U64, default=0, doc="id of the next consent proposal"
)
# Seats a key change moves (G1); a person with more changes keys seat by seat.
MAX_SEATS_MOVED: Final = 16
FUNDER_OF: Final = storage.map(
    "funder_of",
    AccountFund.codec("account_fund"),
    BOOL,
    default=False,
    doc="the funds an account is a funder of (index, so that a seat follows a new key, G1)",
)
PROPOSALS: Final = record_map(storage, "proposal", U64_KEY, PROPOSAL, doc="consent proposals (F8)")
PROPOSAL_DUE: Final = storage.map(
    "proposal_due",
    ProposalDue.codec("time_id"),
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
    "removal_vote",
    RemovalVote.codec("fund_target_voter"),
    BOOL,
    default=False,
    doc="votes to remove a funder (F6)",
)
EXITS: Final = storage.map(
    "exit",
    EXIT_KEY,
    BOOL,
    default=False,
    doc="funders waiting to be paid their claim, oldest first (F5)",
)
EXIT_PROGRESS: Final = record_map(
    storage,
    "exit_progress",
    EXIT_KEY,
    EXIT_PROGRESS_RECORD,
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
