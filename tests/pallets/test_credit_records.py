"""Rules that had no test of their own (issue 18): F7 for a raised rate, C4 at
approval, C5's providers and history, every field of the C9 record, and the
I3 and I5 checks catching a broken state."""

from __future__ import annotations

from typing import Any

from ledger.crypto import blake2b256
from ledger.overlay import StateOverlay
from pallets.credit.hooks import try_state as credit_invariants
from pallets.credit.score import components
from pallets.credit.storage import APPROVAL, APPROVALS
from pallets.funds import api as funds_api
from pallets.loans import api as loans_api
from pallets.loans.interest import schedule
from pallets.support.params import param
from pallets.trust.api import trust_of
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    CONCLUSIONS,
    FUNDERS,
    LUCIA,
    _next_id,
    approve,
    fund_zine,
    key_of,
    ok,
    repay_all,
    request,
    request_args,
    submit_valid,
    wait,
)
from tests.pallets.helpers import FERDIE, TestChain, assert_noop


def _rate_proposal(rate_bps: int, apply_to_open: bool) -> dict[str, Any]:
    return {
        "fund": 0,
        "kind": "interest_rate",
        "subject": None,
        "amount": 0,
        "rate_bps": rate_bps,
        "apply_to_open": apply_to_open,
        "reason_hash": blake2b256(b"rate"),
    }


def test_f7_a_raised_rate_leaves_open_loans_at_the_old_rate() -> None:
    chain = fund_zine(trust_initial=10_000)
    open_loan = submit_valid(chain, [LUCIA, ANA, BEN])
    approve(chain, open_loan)
    # Even asked to apply to open credits, a raise applies only to new ones.
    ok(chain, FUNDERS[0], "funds", "propose", **_rate_proposal(900, True))
    wait(chain, param(chain.state(), "funds", "consent_period") + 1)
    assert funds_api.get_fund(chain.state(), 0).rate_bps == 900
    loan = loans_api.find_loan(chain.state(), open_loan)
    assert loan is not None and loan["rate_bps"] == 500
    later = submit_valid(chain, [LUCIA, ANA, BEN])
    approve(chain, later)
    loan = loans_api.find_loan(chain.state(), later)
    assert loan is not None and loan["rate_bps"] == 900


def test_c4_is_checked_again_at_approval() -> None:
    chain = fund_zine(trust_initial=10_000)
    # Max utilization is 66% of 5 000 = 3 300. Five 500s lent: 2 500. Two more
    # become valid together (3 000 each time, C4 holds at submission); the
    # first is approved (3 000); the second would take it to 3 500.
    for _ in range(5):
        approve(chain, submit_valid(chain, [LUCIA, ANA, BEN, FERDIE], 500))
    ids = [submit_valid(chain, [LUCIA, ANA, BEN, FERDIE], 500) for _ in range(2)]
    approve(chain, ids[0])
    assert funds_api.get_fund(chain.state(), 0).outstanding == 3000
    last = ids[1]
    panel = [key_of(r) for r in request(chain, last)["reviewers"]]
    for reviewer in panel[:-1]:
        ok(chain, reviewer, "credit", "review", request=last, verdict="approve",
           conclusions_hash=CONCLUSIONS)  # fmt: skip
    raw = chain.sign(
        panel[-1],
        "credit",
        "review",
        {"request": last, "verdict": "approve", "conclusions_hash": CONCLUSIONS},
    )
    assert_noop(chain, panel[-1], raw, "UtilizationExceeded", "C4")


def test_c5_providers_and_history_count() -> None:
    chain = fund_zine()
    # History: Lucía repays a credit; a borrower with no history counts 50.
    first = submit_valid(chain, [LUCIA, ANA, BEN])
    approve(chain, first)
    repay_all(chain, LUCIA, first)
    newcomer = blake2b256(b"newcomer")
    record = {
        "fund": 0,
        "purpose": "creative_project",
        "borrowers": [LUCIA.public, newcomer],
        "endorsements": [],
        "providers": [FUNDERS[0].public, FUNDERS[1].public, blake2b256(b"stranger")],
    }
    parts = components(chain.state(), record)
    assert parts["history"] == (100 + 50) // 2  # Lucía repaid 1 of 1; the newcomer has none
    assert parts["providers"] == 100  # two of the fund's funders named: 2 x 50
    record["providers"] = [FUNDERS[0].public]
    assert components(chain.state(), record)["providers"] == 50
    # The score stored on a request uses them: with a funder as provider the earlier
    # score rose by 5, from S = 75 * 40% + 100 * 30% = 60 to 65; the default model's
    # score 100 / (1 + exp(-5.45 * (S - 50) / 100)) from 63.3 to 69.4
    plain = submit_valid(chain, [LUCIA, ANA, BEN], 100)
    with_provider = _next_id(chain)
    args = request_args([LUCIA, ANA, BEN], 100, providers=[FUNDERS[0].public])
    ok(chain, LUCIA, "credit", "submit", **args)
    ok(chain, ANA, "credit", "sign", request=with_provider)
    ok(chain, BEN, "credit", "sign", request=with_provider)
    assert request(chain, plain)["score"] == 63
    assert request(chain, with_provider)["score"] == 69


def test_c9_the_approval_record_has_every_field() -> None:
    chain = fund_zine()
    request_id = submit_valid(chain, [LUCIA, ANA, BEN], 300, installments=3, term=90)
    reviewers = approve(chain, request_id)
    state = chain.state()
    record = APPROVAL.unwire(APPROVALS.get(state, request_id))
    loan = loans_api.find_loan(state, request_id)
    assert loan is not None
    start = loan["start"]
    rows = schedule(300, 500, start, 90, 3)
    assert record == {
        "fund": 0,
        "amount": 300,
        "start": start,
        "end": start + 90,
        "rate_bps": 500,
        "estimated_interest": sum(row[2] for row in rows),
        "schedule": [list(row) for row in rows],
        "borrowers": [[k.public, 100, 100] for k in (LUCIA, ANA, BEN)],
        "reviewers": [
            [r, trust_of(state, 0, r), 100] for r in request(chain, request_id)["reviewers"]
        ],
        "conclusions_hash": record["conclusions_hash"],
        "min_reviewers": 3,
        "size": 5000,
        "outstanding_after": 300,
        "max_credit_bps": 1000,
        "max_utilization_bps": 6600,
        "recipient": LUCIA.public,
        "purpose": "creative_project",
    }
    verdicts = b"".join(r.public + CONCLUSIONS for r in sorted(reviewers, key=lambda k: k.public))
    assert record["conclusions_hash"] == blake2b256(verdicts)


def _forge(chain: TestChain, request_id: int, **changes: Any) -> StateOverlay:
    state = StateOverlay(chain.state())
    record = APPROVAL.unwire(APPROVALS.get(state, request_id))
    record.update(changes)
    APPROVALS.put(state, request_id, APPROVAL.wire(record))
    return state


def test_i3_and_i5_checks_catch_a_broken_state() -> None:
    chain = fund_zine()
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    approve(chain, request_id)
    assert credit_invariants(chain.state()) == []
    too_big = _forge(chain, request_id, size=2000)  # 300 > 10% of 2 000
    assert any(p.startswith("I3:") and "max_credit" in p for p in credit_invariants(too_big))
    too_used = _forge(chain, request_id, outstanding_after=4000)
    assert any(p.startswith("I3:") and "max_utilization" in p for p in credit_invariants(too_used))
    record = APPROVAL.unwire(APPROVALS.get(chain.state(), request_id))
    two = _forge(chain, request_id, reviewers=record["reviewers"][:2], min_reviewers=3)
    assert any(p.startswith("I5:") and "2 reviewers" in p for p in credit_invariants(two))
    short = [[a, t, 50] for a, t, _ in record["borrowers"]]
    uncovered = _forge(chain, request_id, borrowers=short)
    assert any(p.startswith("I5:") and "borrowers" in p for p in credit_invariants(uncovered))
    beyond = [[a, 10, b] for a, _, b in record["reviewers"]]
    over = _forge(chain, request_id, reviewers=beyond)
    assert any(p.startswith("I5:") and "reviewers" in p for p in credit_invariants(over))
