"""The FediCredits worked examples (seeds/004), end to end through signed extrinsics."""

from __future__ import annotations

from pallets.credit.storage import APPROVAL, APPROVALS
from pallets.funds import api as funds_api
from pallets.loans import api as loans_api
from pallets.trust.api import trust_of
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    FUNDERS,
    LUCIA,
    approve,
    balance,
    fund_zine,
    ok,
    owed_next_block,
    repay_all,
    request,
    request_args,
    submit_valid,
    wait,
)
from tests.pallets.helpers import assert_noop


def test_fundzine_lucia_three_credits_and_a_partial_default() -> None:
    chain = fund_zine()
    state = chain.state()
    fund = funds_api.get_fund(state, 0)
    assert (fund.status, fund.funders, funds_api.cash(state, 0)) == ("active", 5, 5000)
    assert all(trust_of(state, 0, key.public) == 100 for key in (*FUNDERS, LUCIA, ANA, BEN))

    # First credit: 300 with two co-borrowers (100 + 100 + 100 of trust), three reviewers.
    first = submit_valid(chain, [LUCIA, ANA, BEN])
    drawn = request(chain, first)["reviewers"]
    assert len(drawn) == 3 and set(drawn) <= {k.public for k in FUNDERS}
    before = balance(chain, LUCIA)
    reviewers = approve(chain, first)
    assert balance(chain, LUCIA) == before + 300
    record = APPROVAL.unwire(APPROVALS.get(chain.state(), first))
    assert [p[2] for p in record["borrowers"]] == [100, 100, 100]
    assert [p[2] for p in record["reviewers"]] == [100, 100, 100]
    assert sum(row[1] for row in record["schedule"]) == 300
    repay_all(chain, LUCIA, first)
    state = chain.state()
    six = [LUCIA, ANA, BEN, *reviewers]
    assert [trust_of(state, 0, k.public) for k in six] == [200] * 6
    others = [k for k in FUNDERS if k not in reviewers]
    assert all(trust_of(state, 0, k.public) == 100 for k in others)

    # Alone (200) she cannot cover 300 any more than before; with one co-borrower she can.
    assert_noop(
        chain,
        LUCIA,
        chain.sign(LUCIA, "credit", "submit", request_args([LUCIA])),
        "InsufficientTrust",
        "C3",
    )
    second = submit_valid(chain, [LUCIA, ANA])
    approve(chain, second)
    repay_all(chain, LUCIA, second)
    assert trust_of(chain.state(), 0, LUCIA.public) == 350  # 200 + 300 / 2

    # Third: alone, 300, one installment; 250 repaid, 50 missing, written off.
    third = submit_valid(chain, [LUCIA], installments=1, term=60)
    reviewers = approve(chain, third)
    trust_before = {k.public: trust_of(chain.state(), 0, k.public) for k in reviewers}
    interest, _ = owed_next_block(chain, third)
    ok(chain, LUCIA, "loans", "repay", loan=third, amount=interest + 250)
    wait(chain, 60 + 120)
    for reviewer in reviewers:
        ok(chain, reviewer, "loans", "vote_writeoff", loan=third)
    state = chain.state()
    loan = loans_api.find_loan(state, third)
    assert loan is not None and (loan["status"], loan["missing"]) == ("written_off", 50)
    assert trust_of(state, 0, LUCIA.public) == 300  # -50
    for account, before_trust in trust_before.items():
        assert trust_of(state, 0, account) == before_trust - 16  # 50 // 3
    fund = funds_api.get_fund(state, 0)
    assert (fund.losses, fund.outstanding) == (50, 0)
