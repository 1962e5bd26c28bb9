"""Loans calls: repayment by anyone (L4), settling in full (L4), extensions (L5), write-off (L6).

A full repayment raises every borrower's and reviewer's trust by
``amount / borrowers`` and ``amount / reviewers`` (T3, interest left out);
a write-off lowers them by ``missing / borrowers`` and ``missing / reviewers``,
floored at zero (T4). Interest received stays in the fund's cash.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pallets.balances import currency
from pallets.funds import api as funds_api
from pallets.funds.storage import MAX_FUNDERS
from pallets.loans import api
from pallets.loans.errors import (
    AlreadyVoted,
    LoanClosed,
    NotEntitled,
    NotLongEnoughLate,
    NotReviewer,
    Overpayment,
    OwedExceedsMax,
    UnknownLoan,
    ZeroPayment,
)
from pallets.loans.events import (
    Extended,
    ExtensionVoted,
    LoanClosedRepaid,
    Repaid,
    WriteOffVoted,
    WrittenOff,
)
from pallets.loans.storage import EXTENSION_VOTES, MAX_BORROWERS, OPEN, WRITEOFF_VOTES
from pallets.support.argtypes import AMOUNT, U64, Int
from pallets.support.context import CallContext
from pallets.support.declare import CallSet
from pallets.support.records import u64
from pallets.trust import api as trust_api

calls = CallSet("loans")

MAX_EXTENSION = 10 * 365 * 86_400
# Closing a loan touches every borrower's and reviewer's trust (3 ops each) and
# each stake's trust in use (2 more, T5).
CLOSE_WORK = (MAX_BORROWERS + MAX_FUNDERS) * 10 + 64


def _active_loan(ctx: CallContext, loan_id: int) -> dict[str, Any]:
    loan = api.find_loan(ctx, loan_id)
    if loan is None:
        raise UnknownLoan(f"there is no loan {loan_id}")
    if loan["status"] != "active":
        raise LoanClosed(f"loan {loan_id} is {loan['status']}")
    return loan


@calls.call(0, args=(("loan", U64), ("amount", AMOUNT)), weight=CLOSE_WORK)
def repay(ctx: CallContext, loan: int, amount: int) -> None:
    """L4: anyone pays towards a loan: accrued interest first, then principal."""
    record = _active_loan(ctx, loan)
    if amount <= 0:
        raise ZeroPayment("a payment must be positive")
    api.accrue_to(record, ctx.block.time)
    owed = record["interest_due"] + record["outstanding"]
    if amount > owed:
        raise Overpayment(f"the payment {amount} exceeds what is owed ({owed})")
    _pay(ctx, loan, record, amount)


@calls.call(3, args=(("loan", U64), ("max_amount", AMOUNT)), weight=CLOSE_WORK)
def settle(ctx: CallContext, loan: int, max_amount: int) -> None:
    """L4: anyone pays a loan off in one call: exactly what is owed at this block's time.

    The payer signs a ceiling, ``max_amount``; the interest accrued by the time
    the call executes cannot be known when it is signed, so the payer allows a
    margin and is charged only what is owed.
    """
    record = _active_loan(ctx, loan)
    api.accrue_to(record, ctx.block.time)
    interest_due, outstanding = record["interest_due"], record["outstanding"]
    owed = interest_due + outstanding
    if owed > max_amount:
        raise OwedExceedsMax(
            f"loan {loan} owes {owed} at this block's time (interest {interest_due} + "
            f"principal {outstanding}), more than max_amount {max_amount}"
        )
    _pay(ctx, loan, record, owed)


def _pay(ctx: CallContext, loan: int, record: dict[str, Any], amount: int) -> None:
    """L4 for ``repay`` and ``settle``: ``amount`` (at most what is owed, interest accrued
    to the block) goes to interest first, then principal; at zero principal the loan
    closes: T3 raises trust, the history counts it, and T5 released every stake."""
    fund_id = record["fund"]
    currency.transfer(ctx, ctx.signer, funds_api.cash_account(fund_id), amount)
    to_interest = min(amount, record["interest_due"])
    to_principal = amount - to_interest
    record["interest_due"] -= to_interest
    record["interest_paid"] += to_interest
    outstanding_before = record["outstanding"]
    record["outstanding"] -= to_principal
    record["principal_paid"] += to_principal
    api.release_exposure(ctx, record, outstanding_before)  # T5: stakes shrink with it
    fund = funds_api.get_fund(ctx, fund_id)
    fund = replace(
        fund,
        outstanding=fund.outstanding - to_principal,
        interest_income=fund.interest_income + to_interest,
    )
    funds_api.put_fund(ctx, fund_id, fund)
    ctx.emit(Repaid, loan=loan, payer=ctx.signer, interest=to_interest, principal=to_principal)
    api.notify_flow(ctx, fund_id, "principal", to_principal)
    api.notify_flow(ctx, fund_id, "interest", to_interest)
    if record["outstanding"] == 0:
        _close(ctx, loan, record, "repaid")
        principal = record["principal"]
        for borrower in record["borrowers"]:
            trust_api.raise_trust(ctx, fund_id, borrower, principal // len(record["borrowers"]))
            api.record_history(ctx, borrower, repaid=True)
        for reviewer in record["reviewers"]:
            trust_api.raise_trust(ctx, fund_id, reviewer, principal // len(record["reviewers"]))
        ctx.emit(LoanClosedRepaid, loan=loan)
    api.put_loan(ctx, loan, record)


def _close(ctx: CallContext, loan_id: int, record: dict[str, Any], status: str) -> None:
    trust_api.end_stakes(ctx, record["stakes"])  # its parties are free to change keys (G1)
    record["status"] = status
    record["closed"] = ctx.block.time
    record["remainder"] = 0  # less than one unit of interest: forgiven
    OPEN.delete(ctx, u32_of(record["fund"]) + u64(loan_id))


def u32_of(fund_id: int) -> bytes:
    return fund_id.to_bytes(4, "big")


@calls.call(
    1,
    args=(("loan", U64), ("seconds", Int("duration", 1, MAX_EXTENSION))),
    weight=MAX_FUNDERS * 2 + 16,
)
def extend(ctx: CallContext, loan: int, seconds: int) -> None:
    """L5: a reviewer votes to move the due dates; when all agree on it, they move.

    ``seconds`` is at least 1 (its declared type refuses 0 before execution).
    """
    record = _active_loan(ctx, loan)
    if ctx.signer not in record["reviewers"]:
        raise NotReviewer("only the loan's reviewers may extend it")
    EXTENSION_VOTES.put(ctx, u64(loan) + ctx.signer, seconds)
    ctx.emit(ExtensionVoted, loan=loan, reviewer=ctx.signer, seconds=seconds)
    votes = [EXTENSION_VOTES.get(ctx, u64(loan) + r) for r in record["reviewers"]]
    if all(vote == seconds for vote in votes):
        for reviewer in record["reviewers"]:
            EXTENSION_VOTES.delete(ctx, u64(loan) + reviewer)
        record["extension"] += seconds
        api.put_loan(ctx, loan, record)
        ctx.emit(Extended, loan=loan, seconds=seconds)


@calls.call(2, args=(("loan", U64),), weight=CLOSE_WORK + MAX_FUNDERS * 4 + api.WRITE_OFF_WORK)
def vote_writeoff(ctx: CallContext, loan: int) -> None:
    """L6: after default_after late, the reviewers (all) or funders (75%) write it off."""
    record = _active_loan(ctx, loan)
    fund_id = record["fund"]
    is_reviewer = ctx.signer in record["reviewers"]
    if not is_reviewer and not funds_api.is_funder(ctx, fund_id, ctx.signer):
        raise NotEntitled("only the loan's reviewers or the fund's funders may vote")
    now = ctx.block.time
    since = api.late_since(record, now)
    default_after = ctx.param("loans", "default_after")
    if since is None or now - since < default_after:
        late = 0 if since is None else now - since
        raise NotLongEnoughLate(f"late for {late} s; a write-off needs {default_after} s")
    if WRITEOFF_VOTES.get(ctx, u64(loan) + ctx.signer):
        raise AlreadyVoted("this account already voted to write the loan off")
    WRITEOFF_VOTES.put(ctx, u64(loan) + ctx.signer, 1)
    ctx.emit(WriteOffVoted, loan=loan, voter=ctx.signer)
    voted = {r for r in record["reviewers"] if WRITEOFF_VOTES.get(ctx, u64(loan) + r)}
    funders = funds_api.funders(ctx, fund_id)
    funder_votes = sum(1 for f in funders if WRITEOFF_VOTES.get(ctx, u64(loan) + f))
    threshold = ctx.param("loans", "writeoff_threshold")
    if len(voted) == len(record["reviewers"]) or funder_votes * 10_000 >= threshold * len(funders):
        _write_off(ctx, loan, record, funders)


def _write_off(
    ctx: CallContext, loan_id: int, record: dict[str, Any], funders: list[bytes]
) -> None:
    api.accrue_to(record, ctx.block.time)
    fund_id = record["fund"]
    missing, interest_lost = record["outstanding"], record["interest_due"]
    fund = funds_api.get_fund(ctx, fund_id)
    fund = replace(fund, outstanding=fund.outstanding - missing, losses=fund.losses + missing)
    funds_api.put_fund(ctx, fund_id, fund)
    record["missing"] = missing
    record["outstanding"] = 0
    record["interest_due"] = 0
    _close(ctx, loan_id, record, "written_off")
    for voter in sorted({*record["reviewers"], *funders}):
        WRITEOFF_VOTES.delete(ctx, u64(loan_id) + voter)
    # T5 first: every stake in the loan is released. Then T4: each borrower
    # loses missing / borrowers and each reviewer missing / reviewers, except
    # that no one's trust falls below what they still have in use for other
    # credits (I6 wins: see docs/credit.md, "Trust in use").
    api.release_exposure(ctx, record, missing)
    for parties, is_borrower in ((record["borrowers"], True), (record["reviewers"], False)):
        for party in parties:
            loss = missing // len(parties)
            floor = trust_api.in_use(ctx, fund_id, party)
            room = max(0, trust_api.local_trust(ctx, fund_id, party) - floor)
            trust_api.lower_trust(ctx, fund_id, party, min(loss, room))
            if is_borrower:
                api.record_history(ctx, party, repaid=False)
    api.put_loan(ctx, loan_id, record)
    ctx.emit(WrittenOff, loan=loan_id, missing=missing, interest_lost=interest_lost)
    if missing > 0:  # X3: federated funds that share losses take their part
        for listener in ctx.wiring.get(api.WRITE_OFFS):
            listener(ctx, fund_id, loan_id, missing)
