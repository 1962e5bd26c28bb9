"""Queries of the loans pallet: a loan, its schedule (L1-L6), and a fund's report (L7).

A loan is shown as stored and as of the block's time: interest accrued up to
then, what is owed, whether (and since when) it is late. An unknown loan or
fund is ``None``. The fund report is served as ``funds_report``: it reads
the fund's loans, and the funds pallet cannot import the loans pallet.
"""

from __future__ import annotations

from typing import Any, Final

from pallets.funds import api as funds_api
from pallets.loans import api
from pallets.loans.api import PAR_DAYS
from pallets.loans.storage import LOAN
from pallets.support.argtypes import ACCOUNT, AMOUNT, BOOL, BPS, U32, U64, List, Optional
from pallets.support.queries import Map, QueryReader, QuerySet, Struct

MAX_INSTALLMENTS: Final = 1 << 16
DAY: Final = 86_400

LOAN_VIEW: Final = Struct(
    "loan_view",
    (
        ("id", U64),
        *LOAN.record.fields,
        ("time", U64),
        ("interest_due_now", AMOUNT),
        ("owed_now", AMOUNT),
        ("late", BOOL),
        ("late_since", Optional(U64)),
        ("days_late", U64),
    ),
)
INSTALLMENT_VIEW: Final = Struct(
    "installment_view",
    (("installment", U32), ("due", U64), ("principal", AMOUNT), ("interest", AMOUNT)),
)
PAR: Final = tuple(f"par{days}" for days in PAR_DAYS)
PURPOSE_ROW: Final = Struct(
    "purpose_row", (("loans", U32), ("outstanding", AMOUNT), *((p, AMOUNT) for p in PAR))
)
EXIT_IN_ARREARS: Final = Struct(
    "exit_in_arrears",
    (
        ("funder", ACCOUNT),
        ("requested", U64),
        ("deadline", U64),
        ("claim", AMOUNT),
        ("paid", AMOUNT),
        ("owed", AMOUNT),
    ),
)
FUND_REPORT: Final = Struct(
    "fund_report",
    (
        ("fund", U32),
        ("cash", AMOUNT),
        ("outstanding", AMOUNT),
        ("size", AMOUNT),
        ("utilization_bps", BPS),
        ("interest_income", AMOUNT),
        ("losses", AMOUNT),
        ("expenses", AMOUNT),
        ("funders", U32),
        ("par_bps", Struct("par_bps", tuple((p, BPS) for p in PAR))),
        ("by_purpose", Map(PURPOSE_ROW)),  # the purposes with open loans
        ("exits_pending", U32),
        ("exit_arrears", AMOUNT),
        ("exits_in_arrears", List(EXIT_IN_ARREARS, 1 << 16)),
        ("time", U64),
    ),
)

queries = QuerySet("loans")


@queries.query("get", args=(("loan", U64),), result=Optional(LOAN_VIEW))
def get(state: QueryReader, loan: int) -> dict[str, Any] | None:
    """A loan (L1-L6)."""
    record = api.find_loan(state, loan)
    if record is None:
        return None
    now = state.now
    stored = dict(record)
    api.accrue_to(record, now)
    since = api.late_since(record, now)
    return {
        "id": loan,
        **stored,
        "time": now,
        "interest_due_now": record["interest_due"],
        "owed_now": record["interest_due"] + record["outstanding"],
        "late": since is not None,
        "late_since": since,
        "days_late": 0 if since is None else (now - since) // DAY,
    }


@queries.query(
    "schedule", args=(("loan", U64),), result=Optional(List(INSTALLMENT_VIEW, MAX_INSTALLMENTS))
)
def schedule(state: QueryReader, loan: int) -> list[dict[str, Any]] | None:
    """A loan's repayment schedule (L2) with interest if paid on time."""
    record = api.find_loan(state, loan)
    if record is None:
        return None
    return [
        {"installment": i + 1, "due": due, "principal": principal, "interest": interest}
        for i, (due, principal, interest) in enumerate(api.loan_schedule(record))
    ]


@queries.query("report", namespace="funds", args=(("fund", U32),), result=Optional(FUND_REPORT))
def fund_report(state: QueryReader, fund: int) -> dict[str, Any] | None:
    """Fund report (L7): cash, outstanding, utilization, income, losses, PAR; exits pending
    and in arrears (F5)."""
    if funds_api.find_fund(state, fund) is None:
        return None
    now = state.now
    report = api.fund_report(state, fund, now)
    keep = ("funder", "requested", "deadline", "claim", "paid", "owed")
    return {
        **report,
        "exits_in_arrears": [{k: row[k] for k in keep} for row in report["exits_in_arrears"]],
        "time": now,
    }
