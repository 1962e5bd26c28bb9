"""Loans invariants: I3 (each fund's outstanding is the sum of its loans'), I2.

``try_state`` walks every loan: its principal is paid, outstanding or
missing, to the unit; the fund's outstanding principal is the sum over its
active loans. (I3's limits at disbursement are checked on the approval
records, in the credit pallet.)
"""

from __future__ import annotations

from ledger.overlay import StateReader
from pallets.funds.api import find_fund
from pallets.loans.storage import LOAN, LOANS
from pallets.support.declare import Hooks
from pallets.support.storage import CorruptState


def try_state(state: StateReader) -> list[str]:
    problems = []
    outstanding_by_fund: dict[int, int] = {}
    try:
        loans = list(LOANS.items(state))
    except CorruptState as exc:  # e.g. a negative amount: reported, not raised
        return [f"I2: a loan record is malformed or negative: {exc}"]
    for loan_id, raw in loans:
        loan = LOAN.unwire(raw)
        if loan["principal_paid"] + loan["outstanding"] + loan["missing"] != loan["principal"]:
            problems.append(f"I3: loan {loan_id} principal does not add up")
        if loan["status"] != "active" and loan["outstanding"] != 0:
            problems.append(f"I3: closed loan {loan_id} still has outstanding principal")
        fund = loan["fund"]
        outstanding_by_fund[fund] = outstanding_by_fund.get(fund, 0) + loan["outstanding"]
    for fund_id, total in sorted(outstanding_by_fund.items()):
        fund = find_fund(state, fund_id)
        if fund is None:
            problems.append(f"I3: loans of unknown fund {fund_id}")
        elif fund.outstanding != total:
            problems.append(f"I3: fund {fund_id} outstanding {fund.outstanding} != loans' {total}")
    return problems


HOOKS = Hooks(try_state=try_state)
