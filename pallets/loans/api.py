"""Loans as other pallets and queries see them: disbursement, accrual, reports.

Theory of operation
-------------------
``open_loan`` is L1: the credit pallet calls it on approval, after the C4
check and after paying pending exits (F5). It moves the amount from the
fund's cash to the recipient, adds it to the fund's outstanding principal
and records the loan. ``accrue_to`` brings a loan's interest up to a time
(L3, exact, see ``interest``). ``late_since`` and ``fund_report`` are
read-only views for L5-L7: lateness is computed from the schedule and the
principal paid, never stored, so it cannot go stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any, Final

from ledger.overlay import StateReader
from pallets.balances import currency
from pallets.funds import api as funds_api
from pallets.funds.storage import PURPOSES
from pallets.loans import interest
from pallets.loans.events import Disbursed, RateLowered
from pallets.loans.storage import BY_FUND, HISTORY, LOAN, LOANS, OPEN
from pallets.support.context import CallContext
from pallets.support.records import u32, u64
from pallets.support.storage import StateWriter
from pallets.support.wiring import Hook
from pallets.trust import api as trust_api

DAY = 86_400
PAR_DAYS = (30, 60, 90)

# Pallets above loans (health: credit velocity; commons: its share of
# interest, R1) learn of every flow through this hook, called with
# (ctx, fund, kind, amount), kind one of "disbursed", "principal", "interest".
FlowListener = Callable[[CallContext, int, str, int], None]
FLOWS: Final = Hook[FlowListener](
    "loans.flows", "money moved between a fund and its borrowers (disbursed, principal, interest)"
)


def notify_flow(ctx: CallContext, fund_id: int, kind: str, amount: int) -> None:
    if amount > 0:
        for listener in ctx.wiring.get(FLOWS):
            listener(ctx, fund_id, kind, amount)


# Federation (X3) learns of every write-off through this hook, called with
# (ctx, fund, loan, missing principal) once the loss is booked; a listener
# may use at most WRITE_OFF_WORK storage operations (the call's weight).
WriteOffListener = Callable[[CallContext, int, int, int], None]
WRITE_OFFS: Final = Hook[WriteOffListener](
    "loans.write_offs", "a loan was written off with principal missing (X3)"
)
WRITE_OFF_WORK: Final = 1024


def find_loan(state: StateReader, loan_id: int) -> dict[str, Any] | None:
    raw = LOANS.get(state, loan_id)
    return None if raw is None else LOAN.unwire(raw)


def put_loan(state: StateWriter, loan_id: int, loan: dict[str, Any]) -> None:
    LOANS.put(state, loan_id, LOAN.wire(loan))


def open_loan(
    ctx: CallContext,
    loan_id: int,
    fund_id: int,
    *,
    recipient: bytes,
    borrowers: list[bytes],
    reviewers: list[bytes],
    purpose: str,
    amount: int,
    rate_bps: int,
    term: int,
    installments: int,
    stakes: list[list[Any]],
) -> None:
    """L1: disburse from fund cash to the recipient; the loan is active.

    ``stakes`` (T5) stay in use, each for its share of the outstanding principal.
    """
    fund = funds_api.get_fund(ctx, fund_id)
    currency.transfer(ctx, funds_api.cash_account(fund_id), recipient, amount)
    funds_api.put_fund(ctx, fund_id, replace(fund, outstanding=fund.outstanding + amount))
    now = ctx.block.time
    loan = {
        "fund": fund_id,
        "recipient": recipient,
        "borrowers": borrowers,
        "reviewers": reviewers,
        "purpose": purpose,
        "principal": amount,
        "outstanding": amount,
        "rate_bps": rate_bps,
        "start": now,
        "term": term,
        "installments": installments,
        "extension": 0,
        "interest_due": 0,
        "remainder": 0,
        "last_accrual": now,
        "principal_paid": 0,
        "interest_paid": 0,
        "status": "active",
        "closed": 0,
        "missing": 0,
        "stakes": stakes,
    }
    put_loan(ctx, loan_id, loan)
    OPEN.put(ctx, u32(fund_id) + u64(loan_id), 1)
    BY_FUND.put(ctx, u32(fund_id) + u64(loan_id), 1)
    ctx.emit(Disbursed, loan=loan_id, fund=fund_id, recipient=recipient, amount=amount)
    notify_flow(ctx, fund_id, "disbursed", amount)


def release_exposure(ctx: CallContext, loan: dict[str, Any], outstanding_before: int) -> None:
    """T5: the principal fell from ``outstanding_before``: each stake's share shrinks with it."""
    principal, now_outstanding = loan["principal"], loan["outstanding"]
    for account, brought in loan["stakes"]:
        before = trust_api.exposure(brought, principal, outstanding_before)
        after = trust_api.exposure(brought, principal, now_outstanding)
        trust_api.release(ctx, loan["fund"], account, before - after)


def accrue_to(loan: dict[str, Any], now: int) -> None:
    """L3: bring ``interest_due`` up to ``now``, carrying the remainder numerator."""
    if now <= loan["last_accrual"] or loan["status"] != "active":
        return
    units, remainder = interest.accrue(
        loan["outstanding"], loan["rate_bps"], now - loan["last_accrual"], loan["remainder"]
    )
    loan["interest_due"] += units
    loan["remainder"] = remainder
    loan["last_accrual"] = now


def late_since(loan: dict[str, Any], now: int) -> int | None:
    """L5: the due time of the first installment unpaid past due, or None."""
    if loan["status"] != "active":
        return None
    return interest.overdue_since(
        loan["principal"],
        loan["principal_paid"],
        loan["start"],
        loan["term"],
        loan["installments"],
        loan["extension"],
        now,
    )


def loan_schedule(loan: dict[str, Any]) -> list[tuple[int, int, int]]:
    return interest.schedule(
        loan["principal"],
        loan["rate_bps"],
        loan["start"],
        loan["term"],
        loan["installments"],
        loan["extension"],
    )


def history(state: StateReader, account: bytes) -> tuple[int, int]:
    repaid, written_off = HISTORY.get(state, account)
    return repaid, written_off


def record_history(ctx: CallContext, account: bytes, *, repaid: bool) -> None:
    done, lost = history(ctx, account)
    HISTORY.put(ctx, account, [done + 1, lost] if repaid else [done, lost + 1])


def move_history(ctx: CallContext, old: bytes, new: bytes) -> None:
    """G1: a person's credit history (C5) follows them to their new key.

    A history ``new`` already had is added to, so that a key change never
    hides a write-off.
    """
    moved_repaid, moved_lost = history(ctx, old)
    if moved_repaid or moved_lost:
        done, lost = history(ctx, new)
        HISTORY.put(ctx, new, [done + moved_repaid, lost + moved_lost])
        HISTORY.delete(ctx, old)


def fund_loan_ids(state: StateReader, fund_id: int, *, open_only: bool) -> list[int]:
    table = OPEN if open_only else BY_FUND
    prefix = table.prefix + u32(fund_id)
    return [int.from_bytes(key[-8:], "big") for key, _ in state.iterate(prefix)]


def lower_open_rates(ctx: CallContext, fund_id: int, rate_bps: int) -> None:
    """F7: a lower rate that applies to open credits; interest so far at the old rate."""
    for loan_id in fund_loan_ids(ctx, fund_id, open_only=True):
        loan = find_loan(ctx, loan_id)
        if loan is None or loan["rate_bps"] <= rate_bps:
            continue
        accrue_to(loan, ctx.block.time)
        loan["rate_bps"] = rate_bps
        put_loan(ctx, loan_id, loan)
        ctx.emit(RateLowered, loan=loan_id, rate_bps=rate_bps)


def fund_report(state: StateReader, fund_id: int, now: int) -> dict[str, Any]:
    """L7: cash, outstanding, utilization, income, losses, PAR30/60/90, by purpose; F5 arrears."""
    fund = funds_api.get_fund(state, fund_id)
    cash = funds_api.cash(state, fund_id)
    outstanding = fund.outstanding
    size = cash + outstanding
    at_risk = dict.fromkeys(PAR_DAYS, 0)
    purposes: dict[str, dict[str, int]] = {}
    for loan_id in fund_loan_ids(state, fund_id, open_only=True):
        loan = find_loan(state, loan_id)
        if loan is None:
            continue
        row = purposes.setdefault(
            loan["purpose"], {"loans": 0, "outstanding": 0, "par30": 0, "par60": 0, "par90": 0}
        )
        row["loans"] += 1
        row["outstanding"] += loan["outstanding"]
        since = late_since(loan, now)
        for days in PAR_DAYS:
            if since is not None and now - since > days * DAY:
                at_risk[days] += loan["outstanding"]
                row[f"par{days}"] += loan["outstanding"]
    exits = funds_api.exit_queue(state, fund_id, now)
    in_arrears = [row for row in exits if row.in_arrears]
    return {
        "fund": fund_id,
        "cash": cash,
        "outstanding": outstanding,
        "size": size,
        "utilization_bps": outstanding * 10_000 // size if size else 0,
        "interest_income": fund.interest_income,
        "losses": fund.losses,
        "expenses": fund.expenses,
        "funders": fund.funders,
        "par_bps": {
            f"par{days}": at_risk[days] * 10_000 // outstanding if outstanding else 0
            for days in PAR_DAYS
        },
        "by_purpose": {p: purposes[p] for p in PURPOSES if p in purposes},
        # F5: what leaving funders are still owed past requested + exit_period.
        "exits_pending": len(exits),
        "exit_arrears": sum(row.owed for row in in_arrears),
        "exits_in_arrears": [asdict(row) for row in in_arrears],
    }
