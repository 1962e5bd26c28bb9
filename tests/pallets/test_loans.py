"""Loans: disbursement (L1), schedule (L2), exact interest (L3), repayment (L4),
lateness and extensions (L5), write-off (L6), reports with PAR (L7), F7 rates.
"""

from __future__ import annotations

from typing import Any

from ledger.crypto import Keypair
from pallets.funds import api as funds_api
from pallets.loans import api as loans_api
from pallets.loans import interest
from pallets.trust import api as trust_api
from pallets.trust.api import trust_of
from tests.pallets import credit_helpers
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    FUNDERS,
    LUCIA,
    approve,
    balance,
    cash,
    fund_zine,
    ok,
    submit_valid,
    wait,
)
from tests.pallets.helpers import FERDIE, TestChain, assert_noop

BIG = 10**11  # C large enough that interest shows within localnet seconds
AMOUNT = 3 * 10**10


def _loan(chain: TestChain, loan_id: int) -> dict[str, Any]:
    loan = loans_api.find_loan(chain.state(), loan_id)
    assert loan is not None
    return loan


def _big_loan(rate_bps: int = 10_000, **kw: Any) -> tuple[TestChain, list[Keypair]]:
    chain = fund_zine(rate_bps=rate_bps, contribution=BIG)
    request_id = submit_valid(chain, [LUCIA, ANA, BEN], AMOUNT, **kw)
    return chain, list(approve(chain, request_id))


def test_l1_l2_disbursement_and_schedule() -> None:
    chain, _ = _big_loan(term=90, installments=4)
    loan = _loan(chain, 0)
    assert loan["status"] == "active" and loan["outstanding"] == AMOUNT
    assert cash(chain) == 5 * BIG - AMOUNT
    assert funds_api.get_fund(chain.state(), 0).outstanding == AMOUNT
    rows = loans_api.loan_schedule(loan)
    assert [r[1] for r in rows] == [AMOUNT // 4] * 4
    start = loan["start"]
    assert [r[0] for r in rows] == [start + 22, start + 45, start + 67, start + 90]
    assert interest.principal_parts(10, 3) == [3, 3, 4]


def test_l3_interest_is_exact_across_accruals() -> None:
    total_one, rem_one = interest.accrue(AMOUNT, 777, 1000, 0)
    units, rem = 0, 0
    for step in (1, 7, 300, 2, 690):
        got, rem = interest.accrue(AMOUNT, 777, step, rem)
        units += got
    assert (units, rem) == (total_one, rem_one)
    assert total_one * interest.DENOMINATOR + rem_one == AMOUNT * 777 * 1000


def test_l4_repayment_by_anyone_interest_first_overpayment_refused() -> None:
    chain, _ = _big_loan()
    wait(chain, 10)
    due, principal = owed_next_block(chain)
    assert due > 0
    raw = chain.sign(FERDIE, "loans", "repay", {"loan": 0, "amount": due + principal + 1})
    assert_noop(chain, FERDIE, raw, "Overpayment", "L4")
    raw = chain.sign(FERDIE, "loans", "repay", {"loan": 0, "amount": 0})
    assert_noop(chain, FERDIE, raw, "ZeroPayment", "L4")
    due, _ = owed_next_block(chain)
    receipt = ok(chain, FERDIE, "loans", "repay", loan=0, amount=due + 5)  # a donation
    repaid = next(e for e in receipt.events if e.name == "Repaid")
    assert (repaid.attrs["interest"], repaid.attrs["principal"]) == (due, 5)
    fund = funds_api.get_fund(chain.state(), 0)
    assert fund.interest_income == due and fund.outstanding == AMOUNT - 5
    due, principal = owed_next_block(chain)
    ok(chain, LUCIA, "loans", "repay", loan=0, amount=due + principal)
    assert _loan(chain, 0)["status"] == "repaid"
    assert trust_of(chain.state(), 0, LUCIA.public) == BIG // 10 + AMOUNT // 3
    raw = chain.sign(LUCIA, "loans", "repay", {"loan": 0, "amount": 1})
    assert_noop(chain, LUCIA, raw, "LoanClosed", "L4")
    raw = chain.sign(LUCIA, "loans", "repay", {"loan": 9, "amount": 1})
    assert_noop(chain, LUCIA, raw, "UnknownLoan", "L1")


def test_l4_settle_pays_exactly_what_is_owed_and_closes_the_loan() -> None:
    """Anyone settles in one call; the payer is charged what is owed, not the ceiling."""
    chain, reviewers = _big_loan()
    ok(chain, LUCIA, "loans", "repay", loan=0, amount=sum(owed_next_block(chain)) // 2)
    wait(chain, 10)
    in_use_before = trust_api.in_use(chain.state(), 0, LUCIA.public)
    assert in_use_before > 0
    interest_due, principal = owed_next_block(chain)
    owed = interest_due + principal
    assert interest_due > 0
    raw = chain.sign(FERDIE, "loans", "settle", {"loan": 0, "max_amount": owed - 1})
    receipt = assert_noop(chain, FERDIE, raw, "OwedExceedsMax", "L4")
    assert receipt.error is not None and str(owed) in receipt.error.message
    interest_due, principal = owed_next_block(chain)  # assert_noop used a block's time
    owed = interest_due + principal
    before, cash_before = balance(chain, FERDIE), cash(chain)
    receipt = ok(chain, FERDIE, "loans", "settle", loan=0, max_amount=owed + 10**6)
    assert balance(chain, FERDIE) == before - owed  # the margin is not charged
    assert cash(chain) == cash_before + owed
    repaid = next(e for e in receipt.events if e.name == "Repaid")
    assert (repaid.attrs["interest"], repaid.attrs["principal"]) == (interest_due, principal)
    assert "LoanClosedRepaid" in [e.name for e in receipt.events]
    loan = _loan(chain, 0)
    assert loan["status"] == "repaid" and loan["outstanding"] == loan["interest_due"] == 0
    assert loan["principal_paid"] == AMOUNT
    fund = funds_api.get_fund(chain.state(), 0)
    assert fund.outstanding == 0
    # T3: trust rises by amount / borrowers and amount / reviewers; T5: no stake left.
    state = chain.state()
    for borrower in (LUCIA, ANA, BEN):
        assert trust_of(state, 0, borrower.public) == BIG // 10 + AMOUNT // 3
        assert trust_api.in_use(state, 0, borrower.public) == 0
    for reviewer in reviewers:
        assert trust_api.in_use(state, 0, reviewer.public) == 0
    assert loans_api.history(state, LUCIA.public) == (1, 0)
    raw = chain.sign(FERDIE, "loans", "settle", {"loan": 0, "max_amount": owed})
    assert_noop(chain, FERDIE, raw, "LoanClosed", "L4")
    raw = chain.sign(FERDIE, "loans", "settle", {"loan": 9, "max_amount": owed})
    assert_noop(chain, FERDIE, raw, "UnknownLoan", "L1")


def test_l4_settle_matches_a_full_repay() -> None:
    """settle and a repay of exactly what is owed change the state in the same way."""
    by_settle, _ = _big_loan()
    by_repay, _ = _big_loan()
    for chain in (by_settle, by_repay):
        wait(chain, 7)
    owed = sum(owed_next_block(by_repay))
    assert sum(owed_next_block(by_settle)) == owed
    ok(by_settle, FERDIE, "loans", "settle", loan=0, max_amount=owed)
    ok(by_repay, FERDIE, "loans", "repay", loan=0, amount=owed)
    assert by_settle.root == by_repay.root


def owed_next_block(chain: TestChain) -> tuple[int, int]:
    return credit_helpers.owed_next_block(chain, 0)


def test_paying_early_saves_interest() -> None:
    early, _ = _big_loan()
    late, _ = _big_loan()
    wait(late, 50)
    early_due, _ = owed_next_block(early)
    late_due, _ = owed_next_block(late)
    assert early_due < late_due


def test_l5_late_and_extension_by_all_reviewers() -> None:
    chain, reviewers = _big_loan(term=30, installments=1)
    loan = _loan(chain, 0)
    wait(chain, 31)
    now = chain.time_ms // 1000
    assert loans_api.late_since(_loan(chain, 0), now + 1) == loan["start"] + 30
    raw = chain.sign(LUCIA, "loans", "extend", {"loan": 0, "seconds": 100})
    assert_noop(chain, LUCIA, raw, "NotReviewer", "L5")
    for reviewer in reviewers:
        ok(chain, reviewer, "loans", "extend", loan=0, seconds=100)
    assert _loan(chain, 0)["extension"] == 100
    assert loans_api.late_since(_loan(chain, 0), chain.time_ms // 1000 + 1) is None


def test_l6_write_off_needs_default_after_and_an_entitled_voter() -> None:
    chain, reviewers = _big_loan(term=30, installments=1)
    first = reviewers[0]
    raw = chain.sign(first, "loans", "vote_writeoff", {"loan": 0})
    assert_noop(chain, first, raw, "NotLongEnoughLate", "L6")
    wait(chain, 30 + 121)
    raw = chain.sign(LUCIA, "loans", "vote_writeoff", {"loan": 0})
    assert_noop(chain, LUCIA, raw, "NotEntitled", "L6")
    ok(chain, first, "loans", "vote_writeoff", loan=0)
    raw = chain.sign(first, "loans", "vote_writeoff", {"loan": 0})
    assert_noop(chain, first, raw, "AlreadyVoted", "L6")
    # The funders by 75%: four of five.
    voters = [f for f in FUNDERS if f not in reviewers][:2]
    for funder in [*voters, *reviewers[1:]][:3]:
        ok(chain, funder, "loans", "vote_writeoff", loan=0)
    loan = _loan(chain, 0)
    assert loan["status"] == "written_off" and loan["missing"] == AMOUNT
    fund = funds_api.get_fund(chain.state(), 0)
    assert (fund.losses, fund.outstanding) == (AMOUNT, 0)
    assert trust_of(chain.state(), 0, LUCIA.public) == BIG // 10 - AMOUNT // 3


def test_l7_report_with_portfolio_at_risk() -> None:
    chain = fund_zine()
    approve(chain, submit_valid(chain, [LUCIA, ANA, BEN], 300, term=30, installments=1))
    report = loans_api.fund_report(chain.state(), 0, chain.time_ms // 1000)
    assert (report["cash"], report["outstanding"], report["size"]) == (4700, 300, 5000)
    assert report["utilization_bps"] == 600
    assert report["par_bps"] == {"par30": 0, "par60": 0, "par90": 0}
    now = chain.time_ms // 1000
    loan = _loan(chain, 0)
    due = loan["start"] + 30
    later = loans_api.fund_report(chain.state(), 0, due + 61 * 86_400)
    assert later["par_bps"] == {"par30": 10_000, "par60": 10_000, "par90": 0}
    assert later["by_purpose"]["creative_project"]["par60"] == 300
    assert now < due


def test_f7_a_lower_rate_may_apply_to_open_credits() -> None:
    chain, _ = _big_loan()
    from ledger.crypto import blake2b256

    args = {
        "fund": 0,
        "kind": "interest_rate",
        "subject": None,
        "amount": 0,
        "rate_bps": 100,
        "apply_to_open": True,
        "reason_hash": blake2b256(b"cheaper"),
    }
    ok(chain, FUNDERS[0], "funds", "propose", **args)
    wait(chain, 31)
    loan = _loan(chain, 0)
    assert loan["rate_bps"] == 100 and loan["interest_due"] > 0
    assert balance(chain, LUCIA) > AMOUNT


def test_i2_a_negative_outstanding_is_reported_not_raised() -> None:
    from ledger import codec
    from ledger.overlay import MemoryState
    from pallets.funds.hooks import try_state as funds_try_state
    from pallets.funds.storage import FUND, FUNDS
    from pallets.loans.hooks import try_state as loans_try_state
    from pallets.loans.storage import LOAN, LOANS

    chain, _ = _big_loan()
    state = chain.state()
    loan = LOAN.wire(_loan(chain, 0))
    loan[LOAN.names.index("outstanding")] = -1
    fund = FUND.wire(funds_api.get_fund(state, 0))
    fund[FUND.names.index("outstanding")] = -1
    broken = MemoryState({LOANS.key(0): codec.encode(loan), FUNDS.key(0): codec.encode(fund)})
    assert loans_try_state(broken)[0].startswith("I2")
    assert funds_try_state(broken)[0].startswith("I2")
