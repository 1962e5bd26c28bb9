"""Loans errors; each cites the rule of spec/credit-rules.md it enforces."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("loans")

UnknownLoan: Final = errors.define(0, "UnknownLoan", rule="L1", doc="no loan has this id")
LoanClosed: Final = errors.define(
    1, "LoanClosed", rule="L4", doc="the loan is repaid or written off"
)
Overpayment: Final = errors.define(
    2, "Overpayment", rule="L4", doc="a payment may not exceed accrued interest + outstanding"
)
ZeroPayment: Final = errors.define(3, "ZeroPayment", rule="L4", doc="a payment is positive")
NotReviewer: Final = errors.define(
    4, "NotReviewer", rule="L5", doc="only the loan's reviewers may extend due dates"
)
NotLongEnoughLate: Final = errors.define(
    5,
    "NotLongEnoughLate",
    rule="L6",
    doc="a loan may be written off only after default_after late",
)
NotEntitled: Final = errors.define(
    6,
    "NotEntitled",
    rule="L6",
    doc="a write-off is voted by the loan's reviewers or the fund's funders",
)
AlreadyVoted: Final = errors.define(7, "AlreadyVoted", rule="L6", doc="one vote per voter")
OwedExceedsMax: Final = errors.define(
    8,
    "OwedExceedsMax",
    rule="L4",
    doc="settling pays what is owed at the block's time; it was more than the signed max_amount",
)
