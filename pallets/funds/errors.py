"""Funds errors; each cites the rule of spec/credit-rules.md it enforces."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("funds")

UnknownFund: Final = errors.define(0, "UnknownFund", rule="F1", doc="no fund has this id")
BadContribution: Final = errors.define(
    1, "BadContribution", rule="F1", doc="the contribution C must be positive"
)
AlreadyFunder: Final = errors.define(
    2, "AlreadyFunder", rule="F2", doc="the account is already a funder of this fund"
)
NotAdmitted: Final = errors.define(
    3,
    "NotAdmitted",
    rule="F4",
    doc="an active fund admits a new funder only after the funders consented",
)
GrowthNotNeeded: Final = errors.define(
    4,
    "GrowthNotNeeded",
    rule="F4",
    doc="an active fund grows only while outstanding >= growth_min_utilization of size",
)
NotFunder: Final = errors.define(
    5, "NotFunder", rule="F8", doc="only a funder of the fund may do this"
)
TooEarlyToLeave: Final = errors.define(
    6, "TooEarlyToLeave", rule="F5", doc="a funder may leave only after min_membership"
)
AlreadyLeaving: Final = errors.define(
    7, "AlreadyLeaving", rule="F5", doc="the funder is already in the exit queue"
)
CannotVoteOnSelf: Final = errors.define(
    8, "CannotVoteOnSelf", rule="F6", doc="removal is voted by the other funders"
)
AlreadyVoted: Final = errors.define(9, "AlreadyVoted", rule="F6", doc="one vote per funder")
UnknownProposal: Final = errors.define(
    10, "UnknownProposal", rule="F8", doc="no consent proposal has this id"
)
ProposalClosed: Final = errors.define(
    11, "ProposalClosed", rule="F8", doc="the proposal's consent period is over"
)
BadProposal: Final = errors.define(
    12, "BadProposal", rule="F8", doc="the proposal lacks what its kind needs"
)
FundNotActive: Final = errors.define(
    13, "FundNotActive", rule="C4", doc="a fund lends (and grows by consent) only when active"
)
CreditTooLarge: Final = errors.define(
    14, "CreditTooLarge", rule="C4", doc="a credit may not exceed max_credit of the fund's size"
)
UtilizationExceeded: Final = errors.define(
    15,
    "UtilizationExceeded",
    rule="C4",
    doc="outstanding + amount may not exceed max_utilization of the fund's size",
)
ExitsPending: Final = errors.define(
    16,
    "ExitsPending",
    rule="F5",
    doc="leaving funders are paid before any new disbursement, and cash does not yet allow it",
)
TooManyFunders: Final = errors.define(
    17, "TooManyFunders", rule="F2", doc="a fund has at most 64 funders (bounded work)"
)
FundIsForming: Final = errors.define(
    18, "FundIsForming", rule="F2", doc="a forming fund is joined directly, without consent"
)
DebtsPending: Final = errors.define(
    19,
    "DebtsPending",
    rule="X3",
    doc="a fund pays what it owes federated funds (loss sharing) before any new disbursement",
)
