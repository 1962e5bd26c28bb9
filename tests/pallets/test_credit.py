"""Credit requests: C1-C9 refusals (assert_noop), score, draw, conflicts, resolution."""

from __future__ import annotations

from collections import Counter

import pytest

from ledger.crypto import blake2b256
from pallets.credit.draw import draw_reviewers, shares, shuffled
from pallets.credit.storage import APPROVAL, APPROVALS
from pallets.executive.executor import InvalidBlock
from pallets.funds.storage import PURPOSES
from pallets.support.params import param
from pallets.trust import api as trust_api
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
    register,
    request,
    request_args,
    submit_valid,
    wait,
)
from tests.pallets.helpers import ALICE, FERDIE, TestChain, assert_noop


def _submit(chain: TestChain, key: object, **args: object) -> bytes:
    from ledger.crypto import Keypair

    assert isinstance(key, Keypair)
    return chain.sign(key, "credit", "submit", args)


def _review(chain: TestChain, request_id: int, key: object, verdict: str = "approve") -> bytes:
    from ledger.crypto import Keypair

    assert isinstance(key, Keypair)
    args = {"request": request_id, "verdict": verdict, "conclusions_hash": CONCLUSIONS}
    return chain.sign(key, "credit", "review", args)


def test_c1_refusals() -> None:
    chain = fund_zine()
    raw = _submit(chain, FERDIE, **request_args([LUCIA, ANA, BEN]))
    assert_noop(chain, FERDIE, raw, "SubmitterNotBorrower", "C1")
    raw = _submit(chain, LUCIA, **request_args([LUCIA, ANA, BEN], purpose="ecological_restoration"))
    assert_noop(chain, LUCIA, raw, "PurposeNotServed", "C1")
    raw = _submit(chain, LUCIA, **request_args([LUCIA, ANA, BEN], installments=0))
    assert_noop(chain, LUCIA, raw, "BadTerms", "C1")
    raw = _submit(chain, LUCIA, **request_args([LUCIA, ANA, BEN], amount=0))
    assert_noop(chain, LUCIA, raw, "BadTerms", "C1")
    raw = chain.sign(LUCIA, "credit", "sign", {"request": 42})
    assert_noop(chain, LUCIA, raw, "UnknownRequest", "C1")


def test_c1_texts_are_hashes_not_texts() -> None:
    """F10: the free texts are named by 32-byte hashes; a text itself is refused."""
    chain = fund_zine()
    raw = _submit(chain, LUCIA, **request_args([LUCIA, ANA, BEN], what_hash=b"x" * 33))
    with pytest.raises(InvalidBlock, match="what_hash"):
        chain.execute([raw])


def test_c2_co_borrowers_sign_before_the_request_is_valid() -> None:
    chain = fund_zine()
    ok(chain, LUCIA, "credit", "submit", **request_args([LUCIA, ANA, BEN]))
    assert request(chain, 0)["status"] == "awaiting_signatures"
    assert_noop(chain, FERDIE, chain.sign(FERDIE, "credit", "sign", {"request": 0}), "NotBorrower")
    assert_noop(
        chain, LUCIA, chain.sign(LUCIA, "credit", "sign", {"request": 0}), "AlreadySigned", "C2"
    )
    ok(chain, ANA, "credit", "sign", request=0)
    assert request(chain, 0)["status"] == "awaiting_signatures"
    ok(chain, BEN, "credit", "sign", request=0)
    assert request(chain, 0)["status"] == "awaiting_draw"


def test_c3_pooled_trust_same_percentage() -> None:
    assert shares([100, 100, 100], 300) == [100, 100, 100]
    assert shares([400, 200], 300) == [200, 100]  # 50% each, the FediCredits example
    assert shares([100, 100, 100], 100) == [34, 33, 33]
    chain = fund_zine()
    raw = _submit(chain, LUCIA, **request_args([LUCIA, ANA]))
    assert_noop(chain, LUCIA, raw, "InsufficientTrust", "C3")


def test_c4_hard_limits_at_submission() -> None:
    chain = fund_zine(trust_initial=10_000)  # 1 000 each: eight credits open at once (T5)
    borrowers = [LUCIA, ANA, BEN, FERDIE, *FUNDERS[:2]]  # 600 of trust
    raw = _submit(chain, LUCIA, **request_args(borrowers, amount=501))
    assert_noop(chain, LUCIA, raw, "CreditTooLarge", "C4")
    for _ in range(8):  # 8 x 400 = 3200 outstanding of 5000
        approve(chain, submit_valid(chain, [LUCIA, ANA, BEN, FERDIE], 400))
    raw = _submit(chain, LUCIA, **request_args([LUCIA, ANA], amount=200))
    assert_noop(chain, LUCIA, raw, "UtilizationExceeded", "C4")


def test_c5_score_from_purpose_history_endorsements_and_providers() -> None:
    chain = fund_zine()
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    # the default model: the earlier weighted score S = purpose 75 * 40% + no history
    # 50 * 30% = 45, through the logistic: 100 / (1 + exp(-5.45 * (45 - 50) / 100)) = 43.2
    assert request(chain, request_id)["score"] == 43
    ok(chain, ALICE, "credit", "endorse", request=request_id)
    # S = 45 + 20 * 20% = 49: 100 / (1 + exp(-5.45 * (49 - 50) / 100)) = 48.6
    assert request(chain, request_id)["score"] == 49
    assert_noop(
        chain,
        ALICE,
        chain.sign(ALICE, "credit", "endorse", {"request": request_id}),
        "CannotEndorse",
        "C5",
    )
    assert_noop(
        chain,
        LUCIA,
        chain.sign(LUCIA, "credit", "endorse", {"request": request_id}),
        "CannotEndorse",
    )


def test_c6_the_draw_is_stored_reproducible_and_excludes_borrowers() -> None:
    chain = fund_zine()
    borrowers = [LUCIA, ANA, FUNDERS[0]]  # a funder borrowing is never its own reviewer
    request_id = submit_valid(chain, borrowers)
    record = request(chain, request_id)
    (draw,) = record["draws"]
    height, seed, keep, _excluded, panel, stored = draw
    assert height == record["valid_height"] + 2
    candidates = [(a, t) for a, t in record["candidates"]]
    assert stored == [[a, t] for a, t in candidates]  # what each could bring (T5)
    assert FUNDERS[0].public not in dict(candidates)
    assert draw_reviewers(seed, candidates, 300, 3, keep) == panel == record["reviewers"]
    raw = _review(chain, request_id, LUCIA)
    assert_noop(chain, LUCIA, raw, "NotReviewer", "C6")


def test_c6_each_eligible_funder_is_drawn_about_equally_often() -> None:
    accounts = [blake2b256(bytes([i])) for i in range(10)]
    candidates = [(a, 100) for a in accounts]
    excluded = accounts[0]
    eligible = [c for c in candidates if c[0] != excluded]
    counts: Counter[bytes] = Counter()
    draws = 3000
    for i in range(draws):
        panel = draw_reviewers(blake2b256(b"seed" + i.to_bytes(4, "big")), eligible, 300, 3)
        assert panel is not None and len(panel) == 3 and excluded not in panel
        counts.update(panel)
    expected = draws * 3 / 9  # 1000 each
    assert set(counts) == {a for a, _ in eligible}
    assert all(abs(n - expected) < 0.1 * expected for n in counts.values()), counts
    assert sorted(shuffled(b"s", accounts)) == sorted(accounts)


def test_c6_more_reviewers_until_their_trust_covers_and_none_if_it_cannot() -> None:
    accounts = [blake2b256(bytes([i])) for i in range(6)]
    candidates = [(a, 100) for a in accounts]
    panel = draw_reviewers(b"x", candidates, 450, 3)
    assert panel is not None and len(panel) == 5
    assert draw_reviewers(b"x", candidates, 601, 3) is None


def test_c6_a_request_the_eligible_funders_cannot_cover_is_unreviewable() -> None:
    chain = fund_zine()
    # Three funders borrow: only two funders are left to review, fewer than min_reviewers.
    borrowers = [LUCIA, *FUNDERS[:3]]
    ok(chain, LUCIA, "credit", "submit", **request_args(borrowers, 300))
    for co in borrowers[1:]:
        ok(chain, co, "credit", "sign", request=0)
    wait(chain, 1)
    wait(chain, 1)
    record = request(chain, 0)
    assert record["status"] == "unreviewable"
    assert record["reviewers"] == [] and len(record["draws"]) == 1


def test_c7_conflicts_accepted_by_all_others_or_replaced() -> None:
    from tests.pallets.helpers import test_doc

    # A window longer than review_min: a conflict is still open when reviews open.
    chain = fund_zine(TestChain(test_doc(params={"credit": {"conflict_window": 100}})))
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    first, second, third = (key_of(r) for r in request(chain, request_id)["reviewers"])
    ok(chain, first, "credit", "declare_conflict", request=request_id, reason_hash=CONCLUSIONS)
    assert_noop(
        chain,
        first,
        chain.sign(
            first, "credit", "declare_conflict", {"request": request_id, "reason_hash": CONCLUSIONS}
        ),
        "AlreadyDeclared",
        "C7",
    )
    wait(chain, 20)
    assert_noop(chain, second, _review(chain, request_id, second), "ConflictPending", "C7")
    ok(
        chain,
        second,
        "credit",
        "answer_conflict",
        request=request_id,
        reviewer=first.public,
        accept=True,
    )
    assert request(chain, request_id)["conflicts"] == [first.public]
    ok(
        chain,
        third,
        "credit",
        "answer_conflict",
        request=request_id,
        reviewer=first.public,
        accept=True,
    )
    assert request(chain, request_id)["conflicts"] == []
    assert_noop(
        chain,
        third,
        chain.sign(
            third,
            "credit",
            "answer_conflict",
            {"request": request_id, "reviewer": first.public, "accept": False},
        ),
        "NoSuchConflict",
        "C7",
    )
    # A second conflict, refused: the reviewer is replaced by a new draw.
    ok(chain, second, "credit", "declare_conflict", request=request_id, reason_hash=CONCLUSIONS)
    ok(
        chain,
        third,
        "credit",
        "answer_conflict",
        request=request_id,
        reviewer=second.public,
        accept=False,
    )
    wait(chain, 1)
    wait(chain, 1)
    record = request(chain, request_id)
    assert record["status"] == "in_review"
    assert second.public not in record["reviewers"] and len(record["reviewers"]) == 3
    assert record["excluded"] == [second.public]
    _, seed, keep, excluded, panel, stored = record["draws"][-1]
    eligible = [(a, t) for a, t in stored]
    assert all(a not in excluded for a, _ in eligible)
    assert draw_reviewers(seed, eligible, 300, 3, keep) == panel


def test_c8_window_verdicts_improvement_and_amendment() -> None:
    chain = fund_zine()
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    reviewers = [key_of(r) for r in request(chain, request_id)["reviewers"]]
    assert_noop(chain, reviewers[0], _review(chain, request_id, reviewers[0]), "TooEarly", "C8")
    wait(chain, 20)
    ok(
        chain,
        reviewers[0],
        "credit",
        "review",
        request=request_id,
        verdict="improve",
        conclusions_hash=CONCLUSIONS,
    )
    assert_noop(
        chain, reviewers[0], _review(chain, request_id, reviewers[0]), "AlreadyResolved", "C8"
    )
    for reviewer in reviewers[1:]:
        ok(
            chain,
            reviewer,
            "credit",
            "review",
            request=request_id,
            verdict="approve",
            conclusions_hash=CONCLUSIONS,
        )
    assert request(chain, request_id)["status"] == "needs_improvement"
    amend = {
        "request": request_id,
        "what_hash": blake2b256(b"a better plan"),
        "repayment_good_hash": blake2b256(b"a"),
        "repayment_bad_hash": blake2b256(b"b"),
        "trust_reasons_hash": blake2b256(b"c"),
        "documents": [],
    }
    assert_noop(chain, ANA, chain.sign(ANA, "credit", "amend", amend), "NotSubmitter", "C8")
    ok(chain, LUCIA, "credit", "amend", **amend)
    record = request(chain, request_id)
    assert (record["status"], record["round"], record["verdicts"]) == ("in_review", 1, [])
    approve(chain, request_id)
    approval = APPROVAL.unwire(APPROVALS.get(chain.state(), request_id))
    assert approval["amount"] == 300 and len(approval["reviewers"]) == 3
    assert_noop(
        chain,
        LUCIA,
        chain.sign(LUCIA, "credit", "withdraw", {"request": request_id}),
        "WrongStatus",
        "C8",
    )


def test_c8_decline_and_expiry() -> None:
    chain = fund_zine(trust_initial=10_000)  # two requests open at once (T5)
    declined = submit_valid(chain, [LUCIA, ANA, BEN])
    expiring = submit_valid(chain, [LUCIA, ANA, BEN])
    wait(chain, 20)
    reviewer = key_of(request(chain, declined)["reviewers"][0])
    ok(
        chain,
        reviewer,
        "credit",
        "review",
        request=declined,
        verdict="decline",
        conclusions_hash=CONCLUSIONS,
    )
    assert request(chain, declined)["status"] == "declined"
    deadline = request(chain, expiring)["valid_at"] + 60
    wait(chain, deadline - chain.time_ms // 1000)
    assert request(chain, expiring)["status"] == "in_review"
    late = key_of(request(chain, expiring)["reviewers"][0])
    assert_noop(chain, late, _review(chain, expiring, late), "TooLate", "C8")
    assert request(chain, expiring)["status"] == "expired"


def test_purposes_are_the_five_of_the_spec() -> None:
    assert set(PURPOSES) == {
        "productive_enterprise",
        "creative_project",
        "community_infrastructure",
        "ecological_restoration",
        "educational_initiative",
    }


def test_the_largest_request_fits_its_declared_weight() -> None:
    chain = fund_zine()
    borrowers = [LUCIA, ANA, BEN, *FUNDERS]  # 8 borrowers, the maximum
    providers = [blake2b256(bytes([i])) for i in range(7)] + [FUNDERS[0].public]
    ok(chain, LUCIA, "credit", "submit", **request_args(borrowers, 500, providers=providers))
    for co in borrowers[1:]:
        ok(chain, co, "credit", "sign", request=0)
    assert request(chain, 0)["status"] == "awaiting_draw"
    wait(chain, 1)
    wait(chain, 1)
    assert request(chain, 0)["status"] == "unreviewable"  # every funder borrows


def test_t5_reviewers_whose_trust_is_in_use_are_not_drawn_again() -> None:
    from ledger.crypto import Keypair

    chain = fund_zine()
    # A: 300 to Lucía, Ana, Ben; its three reviewers bring 100 each: all their trust.
    first = submit_valid(chain, [LUCIA, ANA, BEN], 300, term=30, installments=1)
    first_reviewers = approve(chain, first)
    state = chain.state()
    for reviewer in first_reviewers:
        assert trust_api.in_use(state, 0, reviewer.public) == 100
        assert trust_api.available(state, 0, reviewer.public) == 0
    newcomers = [Keypair.from_seed(blake2b256(b"newcomer" + bytes([i]))) for i in range(3)]
    register(chain, *newcomers)  # persons, so that they have initial trust (T1)
    second = _next_id(chain)
    ok(chain, newcomers[0], "credit", "submit", **request_args(newcomers, 300))
    for co in newcomers[1:]:
        ok(chain, co, "credit", "sign", request=second)
    wait(chain, 1)
    wait(chain, 1)
    # Only the two other funders have trust to bring: 200 cannot cover 300.
    record = request(chain, second)
    assert record["status"] == "unreviewable"
    assert {a for a, _ in record["candidates"]}.isdisjoint(k.public for k in first_reviewers)
    # Their stakes are free again, and so are the borrowers'.
    assert all(trust_api.in_use(chain.state(), 0, k.public) == 0 for k in newcomers)


def test_c7_a_request_is_drawn_at_most_eight_times() -> None:
    from ledger.crypto import Keypair
    from tests.pallets.credit_helpers import create_args
    from tests.pallets.helpers import test_doc

    chain = TestChain(test_doc(params={"funds": {"min_funders": 12}}))
    funders = [Keypair.from_seed(blake2b256(b"funder" + bytes([i]))) for i in range(12)]
    chain.execute([chain.transfer(ALICE, k.public, 10_000) for k in funders])
    register(chain, *funders)  # persons: reviewers need trust (T1)
    ok(chain, funders[0], "funds", "create", **create_args())
    chain.execute([chain.sign(k, "funds", "join", {"fund": 0}) for k in funders[1:]])
    by_public = {k.public: k for k in funders}
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    for _ in range(7):
        first, second = (by_public[r] for r in request(chain, request_id)["reviewers"][:2])
        args = {"request": request_id, "reason_hash": CONCLUSIONS}
        ok(chain, first, "credit", "declare_conflict", **args)
        ok(chain, second, "credit", "answer_conflict", request=request_id,
           reviewer=first.public, accept=False)  # fmt: skip
        wait(chain, 1)
        wait(chain, 1)
    record = request(chain, request_id)
    assert len(record["draws"]) == 8 and len(record["excluded"]) == 7
    first, second = (by_public[r] for r in record["reviewers"][:2])
    ok(chain, first, "credit", "declare_conflict", request=request_id, reason_hash=CONCLUSIONS)
    raw = chain.sign(
        second,
        "credit",
        "answer_conflict",
        {"request": request_id, "reviewer": first.public, "accept": False},
    )
    assert_noop(chain, second, raw, "TooManyReplacements", "C7")


def test_c7_silence_replaces_a_conflicted_reviewer() -> None:
    chain = fund_zine()
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    first, second, _ = (key_of(r) for r in request(chain, request_id)["reviewers"])
    ok(chain, first, "credit", "declare_conflict", request=request_id, reason_hash=CONCLUSIONS)
    ok(chain, second, "credit", "answer_conflict", request=request_id, reviewer=first.public,
       accept=True)  # fmt: skip
    window = param(chain.state(), "credit", "conflict_window")
    wait(chain, window)  # the third reviewer said nothing
    record = request(chain, request_id)
    assert first.public not in record["reviewers"] and record["excluded"] == [first.public]
    wait(chain, 1)
    wait(chain, 1)  # the replacement draw
    record = request(chain, request_id)
    assert record["status"] == "in_review" and len(record["reviewers"]) == 3
    assert first.public not in record["reviewers"]


def test_c7_a_reviewer_recuses_and_a_funder_declares_before_the_draw() -> None:
    chain = fund_zine()
    request_id = _next_id(chain)
    ok(chain, LUCIA, "credit", "submit", **request_args([LUCIA, ANA, BEN]))
    # Before the draw a funder declares a conflict: never drawn for this request.
    ok(chain, FUNDERS[0], "credit", "declare_conflict", request=request_id,
       reason_hash=CONCLUSIONS)  # fmt: skip
    raw = chain.sign(LUCIA, "credit", "declare_conflict",
                     {"request": request_id, "reason_hash": CONCLUSIONS})  # fmt: skip
    assert_noop(chain, LUCIA, raw, "CannotDeclare", "C7")  # a borrower, not a funder
    ok(chain, ANA, "credit", "sign", request=request_id)
    ok(chain, BEN, "credit", "sign", request=request_id)
    wait(chain, 1)
    wait(chain, 1)
    record = request(chain, request_id)
    assert record["status"] == "in_review"
    assert FUNDERS[0].public not in record["reviewers"]
    assert FUNDERS[0].public not in {a for a, _ in record["draws"][-1][5]}  # not eligible
    # A drawn reviewer recuses: out at once, a new draw follows.
    quitter = key_of(record["reviewers"][0])
    ok(chain, quitter, "credit", "recuse", request=request_id)
    assert request(chain, request_id)["status"] == "awaiting_draw"
    wait(chain, 1)
    wait(chain, 1)
    record = request(chain, request_id)
    assert record["status"] == "in_review" and quitter.public not in record["reviewers"]
    assert set(record["excluded"]) == {FUNDERS[0].public, quitter.public}
