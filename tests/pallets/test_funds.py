"""The funds pallet: creation, activation, consent, removal, exits, hard limits."""

from __future__ import annotations

from typing import Any

from ledger.crypto import blake2b256
from pallets.funds import api as funds_api
from pallets.funds.storage import ADMITTED, PROPOSALS
from pallets.funds.types import FundAccount, ProposalStatus
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    CONCLUSIONS,
    FUNDERS,
    LUCIA,
    C,
    approve,
    cash,
    create_args,
    fund_zine,
    key_of,
    ok,
    request,
    submit_valid,
    wait,
)
from tests.pallets.helpers import ALICE, BOB, CHARLIE, FERDIE, TestChain, assert_noop

REASON = blake2b256(b"reason")
BORROWERS = [LUCIA, ANA, BEN, FERDIE]  # 4 x 100 of trust: credits up to 400


def _propose(kind: str, **kw: object) -> dict[str, object]:
    args: dict[str, object] = {
        "fund": 0,
        "kind": kind,
        "subject": None,
        "amount": 0,
        "rate_bps": 0,
        "apply_to_open": False,
        "reason_hash": REASON,
    }
    args.update(kw)
    return args


def _proposal_status(chain: TestChain, proposal_id: int) -> ProposalStatus | None:
    proposal = PROPOSALS.get(chain.state(), proposal_id)
    return None if proposal is None else proposal.status


def test_create_pays_c_into_the_cash_module_account_and_forms() -> None:
    chain = TestChain()
    before = chain.state()
    receipt = ok(chain, ALICE, "funds", "create", **create_args())
    fund = funds_api.get_fund(chain.state(), 0)
    assert (fund.status, fund.funders, fund.contribution) == ("forming", 1, C)
    assert cash(chain) == C
    assert funds_api.cash(before, 0) == 0
    assert [e.name for e in receipt.events] == ["Transferred", "FundCreated"]


def test_the_fifth_funder_activates_the_fund_and_a_sixth_needs_consent() -> None:
    chain = fund_zine()
    assert funds_api.get_fund(chain.state(), 0).status == "active"
    assert cash(chain) == 5 * C
    assert_noop(
        chain, FERDIE, chain.sign(FERDIE, "funds", "join", {"fund": 0}), "NotAdmitted", "F4"
    )


def test_f1_refusals() -> None:
    chain = TestChain()
    assert_noop(
        chain,
        ALICE,
        chain.sign(ALICE, "funds", "create", create_args(contribution=0)),
        "BadContribution",
        "F1",
    )
    assert_noop(chain, BOB, chain.sign(BOB, "funds", "join", {"fund": 7}), "UnknownFund", "F1")


def test_f2_a_funder_joins_once() -> None:
    chain = TestChain()
    ok(chain, ALICE, "funds", "create", **create_args())
    assert_noop(chain, ALICE, chain.sign(ALICE, "funds", "join", {"fund": 0}), "AlreadyFunder")


def test_c4_a_forming_fund_lends_nothing() -> None:
    chain = TestChain()
    ok(chain, ALICE, "funds", "create", **create_args())
    from tests.pallets.credit_helpers import request_args

    raw = chain.sign(ALICE, "credit", "submit", request_args([ALICE], 50))
    assert_noop(chain, ALICE, raw, "FundNotActive", "C4")


def test_f4_growth_needs_utilization_and_consent() -> None:
    chain = fund_zine(trust_initial=10_000)  # five credits open at once (T5)
    raw = chain.sign(ALICE, "funds", "propose", _propose("new_funder", subject=FERDIE.public))
    assert_noop(chain, ALICE, raw, "GrowthNotNeeded", "F4")
    # Lend 1700 of 5000 (above 33%) in credits of at most 500 (C4): growth is allowed.
    for amount in (400, 400, 400, 400, 100):
        approve(chain, submit_valid(chain, BORROWERS, amount))
    ok(chain, ALICE, "funds", "propose", **_propose("new_funder", subject=FERDIE.public))
    wait(chain, 31)
    assert ADMITTED.get(chain.state(), FundAccount(0, FERDIE.public))
    ok(chain, FERDIE, "funds", "join", fund=0)
    assert funds_api.get_fund(chain.state(), 0).funders == 6


def test_f8_one_objection_rejects_and_silence_passes() -> None:
    chain = fund_zine()
    ok(chain, ALICE, "funds", "propose", **_propose("interest_rate", rate_bps=300))
    ok(chain, BOB, "funds", "object", proposal=0, reason_hash=REASON)
    assert _proposal_status(chain, 0) == ProposalStatus.REJECTED
    assert_noop(
        chain,
        CHARLIE,
        chain.sign(CHARLIE, "funds", "object", {"proposal": 0, "reason_hash": REASON}),
        "ProposalClosed",
        "F8",
    )
    ok(chain, ALICE, "funds", "propose", **_propose("interest_rate", rate_bps=300))
    wait(chain, 31)
    assert _proposal_status(chain, 1) == ProposalStatus.PASSED
    assert funds_api.get_fund(chain.state(), 0).rate_bps == 300


def test_f8_refusals() -> None:
    chain = fund_zine()
    assert_noop(
        chain,
        FERDIE,
        chain.sign(FERDIE, "funds", "propose", _propose("interest_rate", rate_bps=1)),
        "NotFunder",
        "F8",
    )
    assert_noop(
        chain, ALICE, chain.sign(ALICE, "funds", "propose", _propose("expense")), "BadProposal"
    )
    assert_noop(
        chain,
        ALICE,
        chain.sign(ALICE, "funds", "object", {"proposal": 9, "reason_hash": REASON}),
        "UnknownProposal",
    )


def test_f9_an_expense_is_paid_from_cash_by_consent() -> None:
    chain = fund_zine()
    before = funds_api.cash(chain.state(), 0)
    ok(chain, ALICE, "funds", "propose", **_propose("expense", subject=FERDIE.public, amount=120))
    wait(chain, 31)
    assert cash(chain) == before - 120
    assert funds_api.get_fund(chain.state(), 0).expenses == 120


def test_f6_removal_by_75_percent_of_the_others_pays_the_claim() -> None:
    chain = fund_zine()
    target = FUNDERS[4]
    before = funds_api.cash(chain.state(), 0)
    from pallets.balances.currency import free_balance

    target_before = free_balance(chain.state(), target.public)
    assert_noop(
        chain,
        target,
        chain.sign(target, "funds", "vote_removal", {"fund": 0, "target": target.public}),
        "CannotVoteOnSelf",
        "F6",
    )
    for voter in FUNDERS[:2]:
        ok(chain, voter, "funds", "vote_removal", fund=0, target=target.public)
    assert_noop(
        chain,
        ALICE,
        chain.sign(ALICE, "funds", "vote_removal", {"fund": 0, "target": target.public}),
        "AlreadyVoted",
        "F6",
    )
    assert funds_api.is_funder(chain.state(), 0, target.public)
    ok(chain, FUNDERS[2], "funds", "vote_removal", fund=0, target=target.public)  # 3 of 4
    wait(chain, 1)  # the hook pays the exit queue
    state = chain.state()
    assert not funds_api.is_funder(state, 0, target.public)
    assert free_balance(state, target.public) == target_before + before // 5
    assert funds_api.get_fund(state, 0).funders == 4


def test_f5_leaving_waits_for_min_membership_and_exits_are_paid_before_credits() -> None:
    chain = fund_zine()
    assert_noop(chain, BOB, chain.sign(BOB, "funds", "leave", {"fund": 0}), "TooEarlyToLeave", "F5")
    wait(chain, 300)
    ok(chain, BOB, "funds", "leave", fund=0)
    assert not funds_api.is_funder(chain.state(), 0, BOB.public)  # paid at once: cash allows
    assert cash(chain) == 4 * C
    ok(chain, CHARLIE, "funds", "leave", fund=0)
    assert_noop(chain, CHARLIE, chain.sign(CHARLIE, "funds", "leave", {"fund": 99}), "UnknownFund")


def test_f5_a_pending_exit_blocks_disbursement() -> None:
    chain = fund_zine(trust_initial=10_000)  # five credits open at once (T5)
    for _ in range(5):
        approve(chain, submit_valid(chain, BORROWERS, 400))
    assert cash(chain) == 3000
    wait(chain, 300)
    waiting = submit_valid(chain, BORROWERS, 400)
    # Claims of 1000 are paid while cash allows: three of four leaving funders.
    for key in FUNDERS[1:]:
        ok(chain, key, "funds", "leave", fund=0)
    assert len(funds_api.pending_exits(chain.state(), 0)) == 1
    assert cash(chain) == 0
    wait(chain, 20)
    panel = [key_of(r) for r in request(chain, waiting)["reviewers"]]
    for reviewer in panel[:-1]:
        ok(
            chain,
            reviewer,
            "credit",
            "review",
            request=waiting,
            verdict="approve",
            conclusions_hash=CONCLUSIONS,
        )
    last = panel[-1]
    raw = chain.sign(
        last,
        "credit",
        "review",
        {"request": waiting, "verdict": "approve", "conclusions_hash": CONCLUSIONS},
    )
    assert_noop(chain, last, raw, "ExitsPending", "F5")


def test_f2_a_fund_has_at_most_64_funders() -> None:
    from ledger.crypto import Keypair
    from tests.pallets.helpers import test_doc

    chain = TestChain(test_doc(params={"funds": {"min_funders": 1000}}))
    ok(chain, ALICE, "funds", "create", **create_args())
    joiners = [Keypair.from_seed(blake2b256(b"joiner" + bytes([i]))) for i in range(64)]
    chain.execute([chain.transfer(ALICE, k.public, 2 * C) for k in joiners])
    chain.execute([chain.sign(k, "funds", "join", {"fund": 0}) for k in joiners[:63]])
    assert funds_api.get_fund(chain.state(), 0).funders == 64
    raw = chain.sign(joiners[63], "funds", "join", {"fund": 0})
    assert_noop(chain, joiners[63], raw, "TooManyFunders", "F2")


def test_f2_a_forming_fund_needs_no_consent() -> None:
    chain = TestChain()
    ok(chain, ALICE, "funds", "create", **create_args())
    raw = chain.sign(ALICE, "funds", "propose", _propose("new_funder", subject=BOB.public))
    assert_noop(chain, ALICE, raw, "FundIsForming", "F2")


def test_f5_a_leaving_funder_cannot_ask_twice() -> None:
    chain = fund_zine(trust_initial=10_000)  # five credits open at once (T5)
    for _ in range(5):
        approve(chain, submit_valid(chain, BORROWERS, 400))
    wait(chain, 300)
    for key in FUNDERS[1:]:
        ok(chain, key, "funds", "leave", fund=0)
    last = FUNDERS[4]
    assert funds_api.is_funder(chain.state(), 0, last.public)  # waiting: cash is 0
    raw = chain.sign(last, "funds", "leave", {"fund": 0})
    assert_noop(chain, last, raw, "AlreadyLeaving", "F5")


def _repay_in_full(chain: TestChain, loan_id: int) -> list[Any]:
    """FERDIE pays a loan off in one block; that block's events (the hook's included)."""
    from tests.pallets.credit_helpers import owed_next_block

    owed = sum(owed_next_block(chain, loan_id))
    result = chain.execute(
        [chain.sign(FERDIE, "loans", "settle", {"loan": loan_id, "max_amount": owed})]
    )
    assert all(r.success for r in result.receipts), result.receipts
    return [*result.events, *(e for r in result.receipts for e in r.events)]


def test_f5_a_leaving_funder_is_paid_in_parts_and_is_in_arrears_after_exit_period() -> None:
    from node.daemon.community_metrics import community_figures
    from node.daemon.metrics import NodeMetrics
    from pallets.balances.currency import free_balance
    from pallets.loans import api as loans_api
    from tests.rpc.query_helpers import query_json

    chain = fund_zine(trust_initial=10_000)  # five credits open at once (T5)
    for _ in range(5):
        approve(chain, submit_valid(chain, BORROWERS, 400))
    wait(chain, 300)
    for key in FUNDERS[1:4]:  # claims of 1000 each, paid at once: cash 3000 -> 0
        ok(chain, key, "funds", "leave", fund=0)
    assert cash(chain) == 0
    eve = FUNDERS[4]
    before = free_balance(chain.state(), eve.public)
    receipt = ok(chain, eve, "funds", "leave", fund=0)
    assert "ExitPartlyPaid" not in [e.name for e in receipt.events]  # nothing to pay yet
    state = chain.state()
    (queue_key,) = funds_api.pending_exits(state, 0)
    requested = queue_key.requested
    assert queue_key.account == eve.public and funds_api.exit_progress(state, queue_key) is None
    now = chain.time_ms // 1000
    (row,) = funds_api.exit_queue(state, 0, now)
    assert (row.claim, row.paid, row.owed) == (1000, 0, 1000)  # 2000 / 2 funders
    assert row.deadline == requested + 120 and row.in_arrears is False  # localnet
    report = loans_api.fund_report(state, 0, now)
    assert (report["exits_pending"], report["exit_arrears"], report["exits_in_arrears"]) == (
        1,
        0,
        [],
    )
    # Past requested + exit_period the unpaid claim is in arrears, publicly.
    wait(chain, requested + 121 - chain.time_ms // 1000)
    state, now = chain.state(), chain.time_ms // 1000
    assert now > row.deadline and funds_api.arrears(state, 0, now) == 1000
    report = loans_api.fund_report(state, 0, now)
    assert report["exit_arrears"] == 1000
    assert [r["funder"] for r in report["exits_in_arrears"]] == [eve.public]
    view = query_json(state, "funds_report", fund=0)
    assert view is not None and view["exit_arrears"] == "1000" and view["exits_pending"] == 1
    (shown,) = view["exits_in_arrears"]
    assert shown["owed"] == "1000" and shown["deadline"] == requested + 120
    assert shown["funder"].startswith("cc1")
    figures = community_figures(state, chain.height)  # and in the node's metrics
    assert figures.fund_arrears == ((0, 1000),)
    metrics = NodeMetrics()
    metrics.refresh_community(lambda: figures, now=0.0)
    assert metrics.registry.get_sample_value("credichain_fund_exit_arrears", {"fund": "0"}) == 1000
    # Cash comes in (a loan repaid): the hook pays what it allows; the claim is fixed.
    events = _repay_in_full(chain, 0)
    (part,) = [e for e in events if e.name == "ExitPartlyPaid"]
    first = part.attrs["amount"]
    assert 400 <= first < 1000 and cash(chain) == 0
    state = chain.state()
    claim, paid = funds_api.exit_progress(state, queue_key) or (0, 0)
    assert paid == first and part.attrs["owed"] == claim - first
    assert funds_api.is_funder(state, 0, eve.public)  # still counted until paid in full
    assert funds_api.get_fund(state, 0).funders == 2
    assert funds_api.arrears(state, 0, chain.time_ms // 1000) == claim - first
    # More cash: another part, then the rest; then she leaves.
    events = _repay_in_full(chain, 1)
    assert [e.name for e in events if e.name.startswith("Exit")] == ["ExitPartlyPaid"]
    events = _repay_in_full(chain, 2)
    (done,) = [e for e in events if e.name == "ExitPaid"]
    assert done.attrs["claim"] == claim and 0 < done.attrs["amount"] < claim
    state = chain.state()
    assert free_balance(state, eve.public) == before + claim
    assert not funds_api.is_funder(state, 0, eve.public)
    assert funds_api.pending_exits(state, 0) == []
    assert funds_api.exit_progress(state, queue_key) is None
    assert funds_api.arrears(state, 0, chain.time_ms // 1000) == 0
    assert community_figures(state, chain.height).fund_arrears == ()
    fund = funds_api.get_fund(state, 0)
    assert fund.funders == 1 and fund.exits_paid == 3000 + claim


def test_f5_funds_that_cannot_pay_do_not_hold_up_the_exits_of_others() -> None:
    """Issue 18: five funds of lower id whose exits cannot be paid (cash 0, a loan out)
    used to take the hook's four visits every block; the highest fund's exit waited forever."""
    chain = fund_zine(trust_initial=10_000)
    funds = list(range(6))
    for fund in funds[1:]:
        ok(chain, ALICE, "funds", "create", **create_args(name=f"Fund {fund}"))
        chain.execute([chain.sign(key, "funds", "join", {"fund": fund}) for key in FUNDERS[1:]])
    loans = {}
    for fund in funds:
        approve(chain, submit_valid(chain, BORROWERS, 400, fund=fund))
        (loans[fund],) = loans_api_ids(chain, fund)
    for fund in funds:  # F9: spend every fund's cash, so that none can pay an exit
        spend = _propose("expense", fund=fund, subject=FERDIE.public, amount=cash(chain, fund))
        ok(chain, ALICE, "funds", "propose", **spend)
    wait(chain, 31)
    assert all(cash(chain, fund) == 0 for fund in funds)
    wait(chain, 300)
    for fund in funds:
        ok(chain, BOB, "funds", "leave", fund=fund)
    wait(chain, 3)
    assert all(funds_api.is_funder(chain.state(), f, BOB.public) for f in funds)
    # Cash comes in at the highest fund only: its exit is paid within ceil(6 / 4) blocks.
    _repay_in_full(chain, loans[5])
    blocks = 1
    while funds_api.is_funder(chain.state(), 5, BOB.public):
        assert blocks < 2, "the exit of fund 5 is still waiting"
        wait(chain, 1)
        blocks += 1
    state = chain.state()
    assert funds_api.pending_exits(state, 5) == []
    assert all(len(funds_api.pending_exits(state, f)) == 1 for f in funds[:5])


def loans_api_ids(chain: TestChain, fund: int) -> list[int]:
    from pallets.loans import api as loans_api

    return loans_api.fund_loan_ids(chain.state(), fund, open_only=True)
