"""Federation (X1-X3, T2, C6) end to end through signed extrinsics on a TestChain.

Every block runs twice and every invariant (I1-I5 and the federation's own)
is checked after it (``TestChain.apply``). Refusals use ``assert_noop``: the
error code and rule, and a state that did not move.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.crypto import Keypair
from ledger.overlay import MemoryState, StateOverlay
from pallets import construct
from pallets.balances.storage import FREE
from pallets.credit import queries as credit_queries
from pallets.credit.storage import APPROVAL, APPROVALS
from pallets.executive.executor import InvalidBlock
from pallets.federation import api as federation_api
from pallets.federation.agreements import agreement, consent, partners, recognized_trust
from pallets.federation.calls import split_id_of
from pallets.federation.losses import MAX_SETTLE, share_loss
from pallets.federation.storage import (
    DEBTS,
    LINKS,
    LOSSES,
    MAX_PARTNERS,
    REVIEWERS,
    SPLIT,
    SPLIT_OF,
    SPLITS,
    TRUST,
    pair,
)
from pallets.funds import api as funds_api
from pallets.funds.storage import NEXT_PROPOSAL
from pallets.loans import api as loans_api
from pallets.loans.api import WRITE_OFF_WORK
from pallets.support.context import BlockInfo, CallContext
from pallets.trust.api import FEDERATED_TRUST_WORK, in_use, local_trust, trust_of
from pallets.trust.storage import TRUST as TRUST_INDEX
from tests.pallets import helpers
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    CONCLUSIONS,
    FUNDERS,
    LUCIA,
    _next_id,
    create_args,
    ok,
    owed_next_block,
    request,
    request_args,
    submit_valid,
    wait,
)
from tests.pallets.federation_helpers import (
    B_FUNDERS,
    C_FUNDERS,
    CONSENT_PERIOD,
    EXTRA,
    REASON,
    approve_all,
    block_events,
    federate,
    federated_chain,
    key_of,
    named,
    propose,
    shared_loss_chain,
)
from tests.pallets.helpers import ALICE, FERDIE, TestChain, assert_noop

ALICE_TO_EVE = FUNDERS


def last_proposal(chain: TestChain) -> int:
    value: int = NEXT_PROPOSAL.get(chain.state()) - 1
    return value


# ---------------------------------------------------------------- X1 agreements


def test_x1_an_agreement_needs_both_funds_consent_with_the_same_options() -> None:
    chain = federated_chain(2)
    propose(chain, 0, 1, TRUST | LOSSES)
    first = last_proposal(chain)
    result = chain.execute([], seconds=CONSENT_PERIOD)
    assert named(result.events, "ConsentRecorded") == [
        {"fund": 0, "partner": 1, "options": TRUST | LOSSES, "proposal": first}
    ]
    state = chain.state()
    assert agreement(state, 0, 1) is None and partners(state, 0) == []

    # Fund 1 consents to other options: both consents stand, nothing forms.
    propose(chain, 1, 0, TRUST)
    wait(chain, CONSENT_PERIOD)
    state = chain.state()
    assert agreement(state, 0, 1) is None
    assert consent(state, 1, 0)["options"] == TRUST  # type: ignore[index]

    # One objection by a funder of fund 1 rejects its next proposal (F8).
    propose(chain, 1, 0, TRUST | LOSSES)
    ok(chain, B_FUNDERS[3], "funds", "object", proposal=last_proposal(chain), reason_hash=REASON)
    wait(chain, CONSENT_PERIOD)
    assert agreement(chain.state(), 0, 1) is None

    # With the same options the agreement is in force, once, linked both ways.
    propose(chain, 1, 0, TRUST | LOSSES)
    second = last_proposal(chain)
    result = chain.execute([], seconds=CONSENT_PERIOD)
    assert named(result.events, "AgreementFormed") == [
        {"low": 0, "high": 1, "options": TRUST | LOSSES}
    ]
    state = chain.state()
    record = agreement(state, 1, 0)
    assert record is not None and record["proposals"] == [first, second]
    assert partners(state, 0) == [(1, TRUST | LOSSES)] and partners(state, 1) == [(0, 5)]
    assert consent(state, 0, 1) is None and consent(state, 1, 0) is None

    # Leaving takes only the leaving fund's consent; the links go both ways.
    ok(chain, B_FUNDERS[0], "federation", "propose_leave", fund=1, partner=0, reason_hash=REASON)
    result = chain.execute([], seconds=CONSENT_PERIOD)
    assert named(result.events, "AgreementEnded") == [{"low": 0, "high": 1, "by": 1}]
    state = chain.state()
    assert agreement(state, 0, 1) is None and partners(state, 0) == partners(state, 1) == []


def test_x1_refusals_name_the_rule() -> None:
    chain = federated_chain(2)
    ok(chain, C_FUNDERS[0], "funds", "create", **create_args(name="Forming"))  # fund 2, forming

    def refused(key: Keypair, function: str, code: str, rule: str, **args: Any) -> None:
        args.setdefault("reason_hash", REASON)
        assert_noop(chain, key, chain.sign(key, "federation", function, args), code, rule)

    refused(ALICE, "propose", "SelfAgreement", "X1", fund=0, partner=0, options=TRUST)
    refused(ALICE, "propose", "UnknownPartner", "X1", fund=0, partner=9, options=TRUST)
    refused(ALICE, "propose", "BadOptions", "X1", fund=0, partner=1, options=0)
    refused(ALICE, "propose", "BadOptions", "X1", fund=0, partner=1, options=8)
    refused(ALICE, "propose", "FundNotActive", "X1", fund=0, partner=2, options=TRUST)
    refused(B_FUNDERS[0], "propose", "NotFunder", "F8", fund=0, partner=1, options=TRUST)
    refused(ALICE, "propose", "UnknownFund", "F1", fund=7, partner=1, options=TRUST)
    refused(ALICE, "propose_leave", "NotFederated", "X1", fund=0, partner=1)
    federate(chain, 0, 1, REVIEWERS)
    refused(ALICE, "propose", "AlreadyFederated", "X1", fund=0, partner=1, options=REVIEWERS)
    # The funds pallet's own propose does not open federation proposals (no partner, options).
    args = {"fund": 0, "kind": "federate", "subject": None, "amount": 0, "rate_bps": 0,
            "apply_to_open": False, "reason_hash": REASON}  # fmt: skip
    raw = chain.sign(ALICE, "funds", "propose", args)
    with pytest.raises(InvalidBlock, match="'federate' is not one of"):
        chain.execute([raw])


def test_x1_a_fund_has_at_most_max_partners_agreements() -> None:
    chain = TestChain(helpers.test_doc(params={"funds": {"min_funders": 1}}))
    founders = [*B_FUNDERS, *C_FUNDERS][: MAX_PARTNERS + 2]
    chain.execute([chain.transfer(FERDIE, key.public, 10**6) for key in founders])
    chain.execute([chain.sign(key, "funds", "create", create_args()) for key in founders])
    proposals = []
    for other in range(1, MAX_PARTNERS + 1):
        for fund, partner in ((0, other), (other, 0)):
            args = {"fund": fund, "partner": partner, "options": TRUST, "reason_hash": REASON}
            proposals.append(chain.sign(founders[fund], "federation", "propose", args))
    chain.execute(proposals)
    wait(chain, CONSENT_PERIOD)
    assert len(partners(chain.state(), 0)) == MAX_PARTNERS
    last = MAX_PARTNERS + 1
    args = {"fund": 0, "partner": last, "options": TRUST, "reason_hash": REASON}
    assert_noop(chain, founders[0], chain.sign(founders[0], "federation", "propose", args),
                "TooManyPartners", "X1")  # fmt: skip


# ---------------------------------------------------------------- T2 recognized trust


def test_t2_trust_at_f_is_the_larger_of_f_and_a_partner_recognizing_trust() -> None:
    chain = federated_chain(2)
    federate(chain, 0, 1, TRUST)
    # Lucía earns trust at fund 1: a credit there, repaid (T3: 100 + 300 / 3).
    loan = submit_valid(chain, [LUCIA, ANA, BEN], fund=1)
    approve_all(chain, loan)
    interest, principal = owed_next_block(chain, loan)
    ok(chain, LUCIA, "loans", "repay", loan=loan, amount=interest + principal)
    state = chain.state()
    assert local_trust(state, 1, LUCIA.public) == 200
    assert local_trust(state, 0, LUCIA.public) == 100  # recognition is never written back
    assert trust_of(state, 0, LUCIA.public) == 200  # T2: max(100 at 0, 200 recorded at 1)
    # Initial trust (T1) at fund 1 is not "recorded" trust: nothing to recognize.
    assert recognized_trust(state, 0, FERDIE.public) == 0
    assert trust_of(state, 0, FERDIE.public) == 100

    # C3 counts recognized trust: alone, Lucía now covers 200 at fund 0.
    alone = _next_id(chain)
    ok(chain, LUCIA, "credit", "submit", **request_args([LUCIA], 200))
    assert in_use(chain.state(), 0, LUCIA.public) == 200  # T5: all of it
    # Ending recognition while a stake rests on it would leave her over-exposed
    # (I6); she withdraws first (docs/credit.md, "Trust in use").
    ok(chain, LUCIA, "credit", "withdraw", request=alone)
    assert in_use(chain.state(), 0, LUCIA.public) == 0

    # Options are independent: reviewers and losses without trust recognize nothing.
    federate(chain, 0, 1, REVIEWERS | LOSSES)
    assert trust_of(chain.state(), 0, LUCIA.public) == 100
    federate(chain, 0, 1, TRUST | REVIEWERS)
    assert trust_of(chain.state(), 0, LUCIA.public) == 200
    # Leaving ends recognition at once.
    ok(chain, ALICE, "federation", "propose_leave", fund=0, partner=1, reason_hash=REASON)
    wait(chain, CONSENT_PERIOD)
    assert trust_of(chain.state(), 0, LUCIA.public) == 100
    assert_noop(chain, LUCIA, chain.sign(LUCIA, "credit", "submit", request_args([LUCIA], 200)),
                "InsufficientTrust", "C3")  # fmt: skip


def test_t2_lookup_fits_its_declared_work_with_every_partner() -> None:
    state = StateOverlay(MemoryState())
    account = LUCIA.public
    for partner in range(1, MAX_PARTNERS + 1):
        LINKS.put(state, pair(0, partner), TRUST)
        TRUST_INDEX.put(state, partner.to_bytes(4, "big") + account, 10 * partner)
    ctx = CallContext(state, _block(), None, FEDERATED_TRUST_WORK, wiring=construct.WIRING)
    assert recognized_trust(ctx, 0, account) == 10 * MAX_PARTNERS
    assert ctx.used <= FEDERATED_TRUST_WORK


# ---------------------------------------------------------------- C6 lent reviewers


def test_c6_lent_reviewers_are_drawn_only_when_the_funds_own_cannot_cover() -> None:
    chain = federated_chain(2)
    five = [ALICE, LUCIA, ANA, BEN, EXTRA[0]]  # Alice borrows: her four co-funders bring 400
    federate(chain, 0, 1, TRUST)  # trust only: no reviewers are lent
    alone = submit_or_unreviewable(chain, five, 500)
    assert request(chain, alone)["status"] == "unreviewable"

    federate(chain, 0, 1, TRUST | REVIEWERS)
    # The fund's own funders cover 300: they are the only candidates.
    covered = submit_valid(chain, [LUCIA, ANA, BEN], 300)
    own = {k.public for k in ALICE_TO_EVE}
    assert {a for a, _ in request(chain, covered)["candidates"]} == own
    ok(chain, LUCIA, "credit", "withdraw", request=covered)  # T5: their stakes are free again
    wait(chain, 60)  # C6: Lucía withdrew after the draw: resubmit_cooldown (60 s here)

    # 500 with Alice borrowing: fund 1's funders join, with their trust at fund 0.
    lent = submit_valid(chain, five, 500)
    record = request(chain, lent)
    candidates = dict((a, t) for a, t in record["candidates"])
    assert set(candidates) == (own - {ALICE.public}) | {k.public for k in B_FUNDERS}
    assert all(trust == 100 for trust in candidates.values())
    panel = set(record["reviewers"])
    assert len(panel) == 5 and panel & {k.public for k in B_FUNDERS}
    redraw = credit_queries.redraw(chain.runtime.registry.query_state(chain.state()), lent)
    assert redraw is not None and [d["matches"] for d in redraw["draws"]] == [True]
    approve_all(chain, lent)
    approval = APPROVAL.unwire(APPROVALS.get(chain.state(), lent))
    assert {p[0] for p in approval["reviewers"]} == panel
    assert sum(p[2] for p in approval["reviewers"]) == 500  # I5: they covered it


def submit_or_unreviewable(chain: TestChain, borrowers: list[Keypair], amount: int) -> int:
    from pallets.credit.storage import NEXT_REQUEST

    request_id: int = NEXT_REQUEST.get(chain.state())
    ok(chain, borrowers[0], "credit", "submit", **request_args(borrowers, amount))
    chain.execute(
        [chain.sign(co, "credit", "sign", {"request": request_id}) for co in borrowers[1:]]
    )
    wait(chain, 1)
    wait(chain, 1)
    return request_id


# ---------------------------------------------------------------- X2 split credits


def test_x2_a_split_credit_is_one_request_per_fund_under_each_funds_limits() -> None:
    chain = federated_chain(3)
    seven = [LUCIA, ANA, BEN, *EXTRA]  # 700 of trust at each fund
    federate(chain, 0, 1, TRUST)
    # 600 is above fund 0's max_credit (10% of 5 000): one fund cannot lend it.
    assert_noop(chain, LUCIA, chain.sign(LUCIA, "credit", "submit", request_args(seven, 600)),
                "CreditTooLarge", "C4")  # fmt: skip
    submit = [
        chain.sign(LUCIA, "credit", "submit", request_args(seven, 300, fund=fund))
        for fund in (0, 1, 2, 0)
    ]
    submit.append(chain.sign(LUCIA, "credit", "submit", request_args(seven[:3], 300, fund=1)))
    chain.execute(submit)
    part_a, part_b, not_federated, same_fund, other_borrowers = range(5)

    def refused(key: Keypair, requests: list[int], code: str) -> None:
        raw = chain.sign(key, "federation", "split", {"requests": requests})
        assert_noop(chain, key, raw, code, "X2")

    refused(ANA, [part_a, part_b], "BadSplit")  # another submitter
    refused(LUCIA, [part_a, same_fund], "BadSplit")
    refused(LUCIA, [part_a, other_borrowers], "BadSplit")
    refused(LUCIA, [part_a, not_federated], "NotFederatedSplit")
    refused(LUCIA, [part_a, 99], "BadSplit")
    ok(chain, LUCIA, "federation", "split", requests=[part_b, part_a])
    split_id = split_id_of([part_a, part_b])
    state = chain.state()
    assert SPLIT_OF.get(state, part_a) == SPLIT_OF.get(state, part_b) == split_id
    assert SPLIT.unwire(SPLITS.get(state, split_id))["amount"] == 600
    refused(LUCIA, [part_b, not_federated], "AlreadySplit")

    # Each part is co-signed, drawn, reviewed and disbursed in its own fund.
    chain.execute([chain.sign(co, "credit", "sign", {"request": part}) for part in (part_a, part_b)
                   for co in seven[1:]])  # fmt: skip
    wait(chain, 1)
    wait(chain, 1)
    before = FREE.get(chain.state(), LUCIA.public)
    for part, fund in ((part_a, 0), (part_b, 1)):
        reviewers = approve_all(chain, part)
        assert set(reviewers) <= {k.public for k in (ALICE_TO_EVE, B_FUNDERS)[fund]}
    state = chain.state()
    assert FREE.get(state, LUCIA.public) == before + 600
    assert funds_api.cash(state, 0) == funds_api.cash(state, 1) == 4700
    assert federation_api.split_of(state, part_b) is not None


# ---------------------------------------------------------------- X3 loss sharing


def test_x3_three_funds_share_a_loss_and_a_partner_without_cash_pays_later() -> None:
    chain, loan, receipt = shared_loss_chain()
    state = chain.state()
    assert funds_api.get_fund(state, 2).expenses == 4950

    # k = 2: each partner owes 299 // 3 = 99; fund 0 keeps 99 + the remainder 2.
    assert named(receipt.events, "LossShared") == [
        {"loan": loan, "fund": 0, "partner": 1, "share": 99, "paid": 99, "owed": 0},
        {"loan": loan, "fund": 0, "partner": 2, "share": 99, "paid": 50, "owed": 49},
    ]
    loan_record = loans_api.find_loan(state, loan)
    assert loan_record is not None and loan_record["missing"] == 299
    assert funds_api.cash(state, 0) == 5000 - 299 + loan_record["interest_paid"] + 99 + 50
    assert funds_api.cash(state, 1) == 5000 - 99
    assert funds_api.cash(state, 2) == 0
    assert funds_api.get_fund(state, 0).losses == 299
    assert federation_api.ledger(state, 2, 0) == {"shared": 99, "paid": 50, "owed": 49}
    assert federation_api.ledger(state, 1, 0) == {"shared": 99, "paid": 99, "owed": 0}
    assert federation_api.ledger(state, 1, 2)["shared"] == 0

    # Later cash (a donation) is paid to the creditor by the next block's sweep.
    cash_2 = funds_api.cash_account(2)
    chain.execute([chain.transfer(FERDIE, cash_2, 30)])
    assert funds_api.cash(chain.state(), 2) == 30
    result = chain.execute([])
    assert named(result.events, "DebtPaid") == [
        {"debtor": 2, "creditor": 0, "amount": 30, "still_owed": 19}
    ]
    assert federation_api.owed_by(chain.state(), 2) == 19

    # A leaving funder waits: the debt comes first (F5 after X3).
    wait(chain, 300)
    ok(chain, C_FUNDERS[4], "funds", "leave", fund=2)
    assert len(funds_api.pending_exits(chain.state(), 2)) == 1
    result = chain.execute([chain.transfer(FERDIE, cash_2, 100)])
    paid = [e.name for e in block_events(result) if e.name in ("DebtPaid", "ExitPaid")]
    assert paid == ["DebtPaid", "ExitPaid"]
    state = chain.state()
    assert federation_api.ledger(state, 2, 0) == {"shared": 99, "paid": 99, "owed": 0}
    assert DEBTS.get(state, pair(2, 0)) == 0
    assert funds_api.cash(state, 2) == 81 - 81 // 5
    assert funds_api.pending_exits(state, 2) == []


def test_x3_a_loss_smaller_than_k_plus_one_stays_whole_with_the_fund() -> None:
    state = StateOverlay(MemoryState())
    LINKS.put(state, pair(0, 1), LOSSES)
    LINKS.put(state, pair(0, 2), LOSSES | REVIEWERS)
    LINKS.put(state, pair(0, 3), TRUST)
    ctx = CallContext(state, _block(), None, None, wiring=construct.WIRING)
    share_loss(ctx, 0, 7, 2)  # k = 2, L = 2 < 3: the share is 0
    assert ctx.events == [] and federation_api.loss(state, 7) is None
    # L = 7: 2 each for the two funds sharing losses (not fund 3: trust only); 3 stay.
    share_loss(ctx, 0, 8, 7)
    loss = federation_api.loss(state, 8)
    assert loss is not None and loss["share"] == 2
    assert loss["parts"] == [[1, 0, 2], [2, 0, 2]]  # no cash: all owed
    assert federation_api.owed_by(state, 1) == federation_api.owed_by(state, 2) == 2


def test_x3_a_fund_that_owes_cannot_disburse_until_it_has_paid() -> None:
    chain = federated_chain(2)
    federate(chain, 0, 1, LOSSES)
    loan = submit_valid(chain, [LUCIA, ANA, BEN], 300, term=60, installments=1)
    approve_all(chain, loan)
    wait(chain, 150)
    # Fund 1 spends all but 100 of its cash, then a request of 10 (its C4 limit) starts.
    ok(chain, B_FUNDERS[0], "funds", "propose", fund=1, kind="expense",
       subject=B_FUNDERS[0].public, amount=4900, rate_bps=0, apply_to_open=False,
       reason_hash=REASON)  # fmt: skip
    wait(chain, CONSENT_PERIOD)
    small = submit_valid(chain, [EXTRA[0]], 10, fund=1)
    # Fund 0's loan is written off: fund 1 pays 100 of its 150 share and owes 50.
    for reviewer in request(chain, loan)["reviewers"]:
        ok(chain, key_of(reviewer), "loans", "vote_writeoff", loan=loan)
    assert federation_api.ledger(chain.state(), 1, 0) == {"shared": 150, "paid": 100, "owed": 50}
    wait(chain, 20)
    *first, last = [key_of(r) for r in request(chain, small)["reviewers"]]
    for reviewer in first:
        ok(chain, reviewer, "credit", "review", request=small, verdict="approve",
           conclusions_hash=CONCLUSIONS)  # fmt: skip
    args = {"request": small, "verdict": "approve", "conclusions_hash": CONCLUSIONS}
    raw = chain.sign(last, "credit", "review", args)
    assert_noop(chain, last, raw, "DebtsPending", "X3")


def test_x3_sharing_fits_the_write_off_weight_with_every_partner_in_debt() -> None:
    state = StateOverlay(MemoryState())
    for partner in range(1, MAX_PARTNERS + 1):
        LINKS.put(state, pair(0, partner), LOSSES)
        FREE.put(state, funds_api.cash_account(partner), 10**6)
        for creditor in range(100, 100 + MAX_SETTLE + 1):  # more debts than one settlement
            DEBTS.put(state, pair(partner, creditor), 5)
    ctx = CallContext(state, _block(), None, WRITE_OFF_WORK, wiring=construct.WIRING)
    share_loss(ctx, 0, 1, 9_000)
    assert ctx.used <= WRITE_OFF_WORK
    loss = federation_api.loss(state, 1)
    assert loss is not None and loss["share"] == 1000
    # Every partner still owed an older debt: its whole share is owed, behind it.
    assert [part[1:] for part in loss["parts"]] == [[0, 1000]] * MAX_PARTNERS


def _block() -> BlockInfo:
    return BlockInfo(1, 1_700_000_000_000, bytes(32), bytes(32), bytes(32), bytes(32), 0)
