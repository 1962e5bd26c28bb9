"""T5 and I6: trust is a limit on exposure, not on one request.

What a borrower or reviewer brings is in use from the moment a request is
valid until it resolves, then for its share of the loan's outstanding
principal until the loan is repaid or written off. The invariants (I6: in
use never above trust, and in use = the stakes of open requests and loans)
are checked by ``TestChain`` after every block.
"""

from __future__ import annotations

from ledger import codec
from ledger.crypto import Keypair, blake2b256
from ledger.overlay import MemoryState, StateOverlay
from pallets import construct
from pallets.credit.hooks import try_state as credit_invariants
from pallets.loans import api as loans_api
from pallets.support.records import u32
from pallets.trust import api as trust_api
from pallets.trust.hooks import try_state as trust_invariants
from pallets.trust.storage import IN_USE
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    CONCLUSIONS,
    FUNDERS,
    LUCIA,
    _next_id,
    approve,
    fund_zine,
    ok,
    owed_next_block,
    register,
    repay_all,
    request,
    request_args,
    submit_valid,
    wait,
)
from tests.pallets.helpers import FERDIE, TestChain, assert_noop
from tests.pallets.helpers import test_doc as doc_with


def in_use(chain: TestChain, key: Keypair) -> int:
    return trust_api.in_use(chain.state(), 0, key.public)


def test_t5_the_second_credit_on_the_same_trust_is_refused() -> None:
    chain = fund_zine()
    # Lucía's trust is 100: one request of 100 takes all of it ...
    first = submit_valid(chain, [LUCIA], 100)
    assert request(chain, first)["reserved"][0] == [LUCIA.public, 100]
    assert in_use(chain, LUCIA) == 100
    assert trust_api.available(chain.state(), 0, LUCIA.public) == 0
    # ... so the second is refused at once, with the rule named.
    raw = chain.sign(LUCIA, "credit", "submit", request_args([LUCIA], 100))
    receipt = assert_noop(chain, LUCIA, raw, "InsufficientTrust", "C3")
    assert receipt.error is not None and "T5" in receipt.error.message
    # A co-borrower whose trust is in use brings nothing either.
    raw = chain.sign(ANA, "credit", "submit", request_args([ANA, LUCIA], 200))
    assert_noop(chain, ANA, raw, "InsufficientTrust", "C3")


def test_t5_the_fedicredits_reviewers_are_busy_until_repayment() -> None:
    chain = fund_zine()
    first = submit_valid(chain, [LUCIA, ANA, BEN])
    reviewers = approve(chain, first)
    assert all(in_use(chain, k) == 100 for k in (LUCIA, ANA, BEN, *reviewers))
    # Another 300 credit: the three busy reviewers cannot be drawn; two free funders
    # (200) cannot cover it.
    newcomers = [Keypair.from_seed(blake2b256(b"exposure" + bytes([i]))) for i in range(3)]
    register(chain, *newcomers)  # persons, so that they have initial trust (T1)
    chain.execute([chain.transfer(FERDIE, k.public, 10**6) for k in newcomers])
    second = _next_id(chain)
    ok(chain, newcomers[0], "credit", "submit", **request_args(newcomers, 300))
    for co in newcomers[1:]:
        ok(chain, co, "credit", "sign", request=second)
    wait(chain, 1)
    wait(chain, 1)
    assert request(chain, second)["status"] == "unreviewable"
    # Repaid: trust 200 each (T3) and nothing in use; they can review 300 again.
    repay_all(chain, LUCIA, first)
    assert all(in_use(chain, k) == 0 for k in (LUCIA, ANA, BEN, *reviewers))
    assert all(trust_api.available(chain.state(), 0, k.public) == 200 for k in reviewers)
    third = submit_valid(chain, newcomers, 300)
    assert set(request(chain, third)["reviewers"]) & {k.public for k in reviewers}


def test_t5_stakes_shrink_with_the_outstanding_principal() -> None:
    chain = fund_zine()
    loan = submit_valid(chain, [LUCIA, ANA, BEN], 300, installments=3, term=90)
    reviewers = approve(chain, loan)
    interest, _ = owed_next_block(chain, loan)
    ok(chain, LUCIA, "loans", "repay", loan=loan, amount=interest + 150)
    record = loans_api.find_loan(chain.state(), loan)
    assert record is not None and record["outstanding"] == 150
    # Each brought 100 of 300: half of it is still at stake.
    assert all(in_use(chain, k) == 50 for k in (LUCIA, ANA, BEN, *reviewers))
    ok(chain, LUCIA, "loans", "repay", loan=loan, amount=1)
    assert in_use(chain, LUCIA) == 50  # 149 of 300, rounded up: 49.67 -> 50
    repay_all(chain, LUCIA, loan)
    assert all(in_use(chain, k) == 0 for k in (LUCIA, ANA, BEN, *reviewers))


def test_t5_a_withdrawn_or_declined_request_gives_its_stakes_back() -> None:
    chain = fund_zine(trust_initial=2000)  # 200 each
    withdrawn = submit_valid(chain, [LUCIA, ANA, BEN])
    assert all(in_use(chain, k) == 100 for k in (LUCIA, ANA, BEN))
    ok(chain, LUCIA, "credit", "withdraw", request=withdrawn)
    assert all(in_use(chain, k) == 0 for k in (LUCIA, ANA, BEN))
    assert all(in_use(chain, k) == 0 for k in FUNDERS)
    wait(chain, 60)  # C6: withdrawn after its draw, they wait resubmit_cooldown (60 s here)
    declined = submit_valid(chain, [LUCIA, ANA, BEN])
    panel = request(chain, declined)["reviewers"]
    assert sum(trust_api.in_use(chain.state(), 0, r) for r in panel) == 300
    wait(chain, 20)
    reviewer = next(k for k in FUNDERS if k.public == panel[0])
    ok(chain, reviewer, "credit", "review", request=declined, verdict="decline",
       conclusions_hash=CONCLUSIONS)  # fmt: skip
    assert all(in_use(chain, k) == 0 for k in (LUCIA, ANA, BEN, *FUNDERS))


def test_t4_never_takes_trust_below_what_is_still_in_use() -> None:
    """I6 over T4's equal split: a co-borrower who brought less than an equal share
    and has another credit open loses at most down to its trust in use."""
    chain = fund_zine(TestChain(doc_with(params={"credit": {"min_reviewers": 2}})))
    # Lucía and Ana reach 200 (T3); Ferdie stays at 100.
    earned = submit_valid(chain, [LUCIA, ANA], 200)
    approve(chain, earned)
    repay_all(chain, LUCIA, earned)
    assert trust_api.trust_of(chain.state(), 0, LUCIA.public) == 200
    # 300 at the same percentage of 500: Lucía 120, Ana 120, Ferdie 60.
    big = submit_valid(chain, [LUCIA, ANA, FERDIE], 300, installments=1, term=30)
    assert in_use(chain, FERDIE) == 60
    reviewers = approve(chain, big)
    # Ferdie co-borrows again with what he has left (40), beside Ben (100).
    small = submit_valid(chain, [BEN, FERDIE], 100, installments=1, term=10**6)
    approve(chain, small)
    loan = loans_api.find_loan(chain.state(), small)
    assert loan is not None
    ferdie_small = dict(loan["stakes"])[FERDIE.public]
    assert 0 < ferdie_small <= 40 and in_use(chain, FERDIE) == 60 + ferdie_small
    wait(chain, 30 + 120)
    for reviewer in reviewers:
        ok(chain, reviewer, "loans", "vote_writeoff", loan=big)
    # T4 would take 300 // 3 = 100 from Ferdie's 100; his other stake keeps the rest.
    state = chain.state()
    assert trust_api.in_use(state, 0, FERDIE.public) == ferdie_small
    assert trust_api.trust_of(state, 0, FERDIE.public) == ferdie_small
    assert trust_api.trust_of(state, 0, LUCIA.public) == 100  # 200 - 100: no other stake


def test_i6_checks_catch_a_broken_state() -> None:
    state = StateOverlay(MemoryState())
    account = LUCIA.public
    # In use with no fund (trust 0) and no stake behind it: both checks name I6.
    IN_USE.put(state, u32(0) + account, 5)
    reader = construct.reader(state)
    assert any(p.startswith("I6:") and "above its trust" in p for p in trust_invariants(reader))
    assert any(p.startswith("I6:") and "stakes sum to 0" in p for p in credit_invariants(reader))
    state.put(IN_USE.key(u32(0) + account), codec.encode(-1))
    assert any("not a positive integer" in p for p in trust_invariants(reader))
