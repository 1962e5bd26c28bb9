"""The funds pallet's records and keys, typed (F1-F10).

Each record is a frozen dataclass whose fields are, in order, the fields of
the ``Record`` the state holds (``pallets.support.records.TypedRecord``):
the order is the state format, so a new field goes at the end. The string
vocabularies (purposes, a fund's status, a proposal's kind and status) are
``StrEnum``s stored as their string values. Updates are
``dataclasses.replace(fund, outstanding=...)``.

The composite keys name their parts (``FundAccount(fund, account)``) and
build their fixed-width bytes in one place (``CompositeKey``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final

from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    BPS,
    HASH,
    U32,
    U64,
    List,
    Optional,
    Text,
)
from pallets.support.records import AccountPart, CompositeKey, U32Part, U64Part, enum_type

MAX_NAME: Final = 64
MAX_SCOPE: Final = 280


class Purpose(StrEnum):
    """What a fund lends for (and a credit request asks for)."""

    PRODUCTIVE_ENTERPRISE = "productive_enterprise"
    CREATIVE_PROJECT = "creative_project"
    COMMUNITY_INFRASTRUCTURE = "community_infrastructure"
    ECOLOGICAL_RESTORATION = "ecological_restoration"
    EDUCATIONAL_INITIATIVE = "educational_initiative"


class FundStatus(StrEnum):
    FORMING = "forming"  # fewer than min_funders: candidates join directly
    ACTIVE = "active"  # lends; new funders by consent (F4)


class ProposalKind(StrEnum):
    NEW_FUNDER = "new_funder"  # F4
    INTEREST_RATE = "interest_rate"  # F7
    EXPENSE = "expense"  # F9
    FEDERATE = "federate"  # X1, carried out by the federation pallet
    UNFEDERATE = "unfederate"  # X1
    SCORE_MODEL = "score_model"  # C5, carried out by the assess pallet


class ProposalStatus(StrEnum):
    OPEN = "open"
    PASSED = "passed"
    REJECTED = "rejected"  # an objection (F8)
    FAILED = "failed"  # passed, but could not be carried out


PURPOSE: Final = enum_type(Purpose)
FUND_STATUS: Final = enum_type(FundStatus)
PROPOSAL_KIND: Final = enum_type(ProposalKind)
PROPOSAL_STATUS: Final = enum_type(ProposalStatus)
PURPOSE_LIST: Final = List(PURPOSE, len(Purpose), min_len=1, unique=True)


@dataclass(frozen=True, slots=True)
class Fund:
    name: Annotated[str, Text(MAX_NAME)]
    scope: Annotated[str, Text(MAX_SCOPE)]
    bioregion: Annotated[int | None, Optional(U32)]
    policy_hash: Annotated[bytes, HASH]
    conduct_hash: Annotated[bytes, HASH]
    contribution: Annotated[int, AMOUNT]  # C, what every funder pays in (F2)
    rate_bps: Annotated[int, BPS]
    purposes: Annotated[tuple[Purpose, ...], PURPOSE_LIST]  # in Purpose order
    status: Annotated[FundStatus, FUND_STATUS]
    creator: Annotated[bytes, ACCOUNT]
    created: Annotated[int, U64]
    funders: Annotated[int, U32]
    outstanding: Annotated[int, AMOUNT]  # principal lent, kept by the loans pallet (F3)
    interest_income: Annotated[int, AMOUNT]
    losses: Annotated[int, AMOUNT]
    expenses: Annotated[int, AMOUNT]
    exits_paid: Annotated[int, AMOUNT]


@dataclass(frozen=True, slots=True)
class Funder:
    joined: Annotated[int, U64]
    paid: Annotated[int, AMOUNT]
    leaving_since: Annotated[int | None, Optional(U64)]  # in the exit queue since (F5/F6)
    removed: Annotated[bool, BOOL]  # leaving by the others' vote (F6)


@dataclass(frozen=True, slots=True)
class Proposal:
    fund: Annotated[int, U32]
    kind: Annotated[ProposalKind, PROPOSAL_KIND]
    proposer: Annotated[bytes, ACCOUNT]
    subject: Annotated[bytes | None, Optional(ACCOUNT)]  # the candidate, or the payee
    amount: Annotated[int, AMOUNT]  # the expense
    rate_bps: Annotated[int, BPS]  # the new interest rate
    apply_to_open: Annotated[bool, BOOL]  # F7: a lower rate may also apply to open credits
    reason_hash: Annotated[bytes, HASH]
    created: Annotated[int, U64]
    ends: Annotated[int, U64]
    status: Annotated[ProposalStatus, PROPOSAL_STATUS]
    objector: Annotated[bytes | None, Optional(ACCOUNT)]


@dataclass(frozen=True, slots=True)
class ExitProgress:
    """An exit paid in part: its claim, fixed at the first payment, and what was paid."""

    claim: Annotated[int, AMOUNT]
    paid: Annotated[int, AMOUNT]  # paid < claim while the exit is queued


# ---------------------------------------------------------------- keys


@dataclass(frozen=True, slots=True)
class FundAccount(CompositeKey):
    """A funder seat, an admitted candidate: fund, then account."""

    fund: U32Part
    account: AccountPart


@dataclass(frozen=True, slots=True)
class AccountFund(CompositeKey):
    """The funds of an account (index for G1): account, then fund."""

    account: AccountPart
    fund: U32Part


@dataclass(frozen=True, slots=True)
class ProposalDue(CompositeKey):
    """The consent queue: when the period ends, then the proposal id."""

    ends: U64Part
    proposal: U64Part


@dataclass(frozen=True, slots=True)
class RemovalVote(CompositeKey):
    """A vote to remove ``target`` from ``fund`` (F6)."""

    fund: U32Part
    target: AccountPart
    voter: AccountPart


@dataclass(frozen=True, slots=True)
class ExitKey(CompositeKey):
    """A place in a fund's exit queue, oldest first (F5)."""

    fund: U32Part
    requested: U64Part
    account: AccountPart
