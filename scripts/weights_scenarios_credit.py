"""Worst-case scenarios of the credit, loans and federation calls (see weights_scenarios).

Every request names MAX_BORROWERS borrowers (``BORROWERS``, 8 accounts that
are never funders), MAX_PROVIDERS providers, four text hashes (the texts are off chain, F10)
and MAX_DOCUMENTS documents, in a fund of 64 funders; it is reviewed by 16
reviewers (``min_reviewers``). The amounts do not change the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.crypto import Keypair, blake2b256
from pallets.credit.storage import NEXT_REQUEST, REQUEST, REQUESTS
from pallets.funds import api as funds_api
from pallets.loans import api as loans_api
from scripts.weights_scenarios import (
    BORROWERS,
    FUNDERS,
    OUTSIDERS,
    REASON,
    SCENARIOS,
    Prepared,
    big_fund,
    new_fund,
    now,
    run,
    run_many,
    sign,
    wait,
)
from scripts.weights_scenarios_funds import removal_votes
from tests.pallets.helpers import TestChain

# Each borrower brings 1 000 of its 100 000 initial trust, each reviewer 500: the same
# borrowers and funders can back every request of a scenario (T5 exposure) and the
# panel is min_reviewers (16).
AMOUNT = 8_000
DOCUMENTS = [blake2b256(b"bench-weights/doc/" + bytes([i])) for i in range(8)]
TEXTS = {
    f"{k}_hash": blake2b256(f"bench-weights/{k}".encode())
    for k in ("what", "repayment_good", "repayment_bad", "trust_reasons")
}
CONCLUSIONS = blake2b256(b"bench-weights/conclusions")


def request_args(fund: int, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "fund": fund,
        "borrowers": [b.public for b in BORROWERS],
        "amount": AMOUNT,
        "purpose": "creative_project",
        "recipient": BORROWERS[0].public,
        "term": 90,
        "installments": 3,
        **TEXTS,
        "documents": DOCUMENTS,
        "providers": [k.public for k in FUNDERS[:8]],
    }
    args.update(overrides)
    return args


def submit(chain: TestChain, fund: int, count: int, **overrides: Any) -> list[int]:
    """``count`` requests signed by their submitter only (awaiting signatures)."""
    first: int = NEXT_REQUEST.get(chain.state())
    run_many(
        chain,
        [
            sign(chain, BORROWERS[0], "credit.submit", **request_args(fund, **overrides))
            for _ in range(count)
        ],
        per_block=100,
    )
    return list(range(first, first + count))


def request(chain: TestChain, request_id: int) -> dict[str, Any]:
    raw = REQUESTS.get(chain.state(), request_id)
    assert raw is not None
    return REQUEST.unwire(raw)


def co_sign(chain: TestChain, ids: Sequence[int], signers: Sequence[Keypair]) -> None:
    run_many(chain, [sign(chain, k, "credit.sign", request=r) for k in signers for r in ids])


def in_review(chain: TestChain, fund: int, count: int, **overrides: Any) -> list[int]:
    """``count`` valid requests whose reviewers are drawn (MAX_DRAWS_PER_BLOCK a block)."""
    ids = submit(chain, fund, count, **overrides)
    co_sign(chain, ids, BORROWERS[1:])
    for _ in range(count // 8 + 4):
        wait(chain, 1)
        if all(request(chain, r)["status"] == "in_review" for r in ids):
            return ids
    raise AssertionError([request(chain, r)["status"] for r in ids])


def reviewers(chain: TestChain, request_id: int) -> list[Keypair]:
    by_key = {k.public: k for k in FUNDERS}
    return [by_key[r] for r in request(chain, request_id)["reviewers"]]


def verdicts(
    chain: TestChain, ids: Sequence[int], *, skip_last: bool, first: str = "approve"
) -> list[bytes]:
    """Every reviewer of each request resolves (the last one left out if ``skip_last``);
    returns the last reviewers' extrinsics when left out."""
    txs, last = [], []
    for r in ids:
        panel = reviewers(chain, r)
        for i, key in enumerate(panel[:-1] if skip_last else panel):
            verdict = first if i == 0 else "approve"
            txs.append(
                sign(
                    chain,
                    key,
                    "credit.review",
                    request=r,
                    verdict=verdict,
                    conclusions_hash=CONCLUSIONS,
                )
            )
        if skip_last:
            last.append((panel[-1], r))
    run_many(chain, txs)
    return [
        sign(
            chain, key, "credit.review", request=r, verdict="approve", conclusions_hash=CONCLUSIONS
        )
        for key, r in last
    ]


def loans(chain: TestChain, count: int, **overrides: Any) -> list[int]:
    """``count`` active loans (8 borrowers, 16 reviewers) in a fund of 64."""
    fund = big_fund(chain)
    ids = in_review(chain, fund, count, **overrides)
    wait(chain, 20)  # review_min
    run_many(chain, verdicts(chain, ids, skip_last=True))
    assert all(loans_api.find_loan(chain.state(), r) is not None for r in ids)
    return ids


# ---------------------------------------------------------------- credit


@SCENARIOS.add(
    "credit.submit",
    "8 borrowers (pooled trust read), 8 providers, 4 text hashes, "
    "8 documents, C4 limits in a fund of 64",
)
def _submit(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    return Prepared(
        [sign(chain, BORROWERS[0], "credit.submit", **request_args(fund)) for _ in range(n)]
    )


@SCENARIOS.add(
    "credit.sign",
    "the 8th borrower's signature: the request becomes valid "
    "(C3 trust, C4 limits, score, draw and deadline queued)",
)
def _sign(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    ids = submit(chain, fund, n)
    co_sign(chain, ids, BORROWERS[1:-1])
    return Prepared([sign(chain, BORROWERS[-1], "credit.sign", request=r) for r in ids])


@SCENARIOS.add(
    "credit.endorse",
    "the 32nd endorsement (MAX_ENDORSEMENTS) of a request in review: the score is recomputed",
)
def _endorse(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    ids = in_review(chain, fund, n)
    run_many(
        chain, [sign(chain, k, "credit.endorse", request=r) for r in ids for k in FUNDERS[:31]]
    )
    return Prepared([sign(chain, FUNDERS[31], "credit.endorse", request=r) for r in ids])


@SCENARIOS.add("credit.declare_conflict", "a reviewer of a request in review (16 reviewers)")
def _declare(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    ids = in_review(chain, fund, n)
    return Prepared(
        [
            sign(
                chain,
                reviewers(chain, r)[0],
                "credit.declare_conflict",
                request=r,
                reason_hash=REASON,
            )
            for r in ids
        ]
    )


@SCENARIOS.add(
    "credit.answer_conflict", "a refusal: the conflicted reviewer is excluded and a new draw queued"
)
def _answer(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    ids = in_review(chain, fund, n)
    panels = {r: reviewers(chain, r) for r in ids}
    run(
        chain,
        [
            sign(chain, panels[r][0], "credit.declare_conflict", request=r, reason_hash=REASON)
            for r in ids
        ],
    )
    return Prepared(
        [
            sign(
                chain,
                panels[r][1],
                "credit.answer_conflict",
                request=r,
                reviewer=panels[r][0].public,
                accept=False,
            )
            for r in ids
        ]
    )


@SCENARIOS.add(
    "credit.review",
    "the 16th approval: the credit is approved (C9) and the "
    "loan disbursed (L1), exits and debts checked",
)
def _review(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    ids = in_review(chain, fund, n)
    wait(chain, 20)  # review_min
    return Prepared(verdicts(chain, ids, skip_last=True))


@SCENARIOS.add(
    "credit.amend",
    "after needs-improvement: 4 text hashes, 8 documents, C3 checked again, a new deadline",
)
def _amend(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    ids = in_review(chain, fund, n)
    wait(chain, 20)
    verdicts(chain, ids, skip_last=False, first="improve")
    assert all(request(chain, r)["status"] == "needs_improvement" for r in ids)
    return Prepared(
        [
            sign(chain, BORROWERS[0], "credit.amend", request=r, **TEXTS, documents=DOCUMENTS)
            for r in ids
        ]
    )


@SCENARIOS.add("credit.recuse", "a reviewer steps down: excluded, a new draw queued (C7)")
def _recuse(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    ids = in_review(chain, fund, n)
    return Prepared([sign(chain, reviewers(chain, r)[0], "credit.recuse", request=r) for r in ids])


@SCENARIOS.add("credit.withdraw", "the submitter withdraws a request in review (largest record)")
def _withdraw(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    ids = in_review(chain, fund, n)
    return Prepared([sign(chain, BORROWERS[0], "credit.withdraw", request=r) for r in ids])


# ---------------------------------------------------------------- funds.leave


@SCENARIOS.add(
    "funds.leave",
    "after min_membership, with 5 or more removed funders still queued: it pays 6 to 8 "
    "exits. A fund of 56 can remove at most 13 in one block (42 votes each); they land in "
    "the block before, whose exit hook pays 8 of them in at most 4 funds",
)
def _leave(chain: TestChain, n: int) -> Prepared:
    n = min(n, 8)
    targets = [new_fund(chain) for _ in range(n)]
    removed = FUNDERS[43:56]  # 13; FUNDERS[42] leaves
    last = {f: removal_votes(chain, f, removed, 1) for f in targets}
    wait(chain, 300)  # min_membership (localnet)
    run(
        chain,
        [
            sign(chain, voter, "funds.vote_removal", fund=f, target=target.public)
            for f in targets
            for voter, target in zip(last[f], removed, strict=True)
        ],
    )
    # The hook paid 8 of a visited fund's 13 (5 left); a fund it did not reach
    # this block (it visits 4 funds a block) still holds all 13.
    left = [len(funds_api.pending_exits(chain.state(), f)) for f in targets]
    assert all(count >= 5 for count in left), left
    return Prepared([sign(chain, FUNDERS[42], "funds.leave", fund=f) for f in targets])


# ---------------------------------------------------------------- loans


@SCENARIOS.add(
    "loans.repay",
    "the payment closing a loan: interest and principal, trust "
    "raised for 8 borrowers and 16 reviewers, histories",
)
def _repay(chain: TestChain, n: int) -> Prepared:
    ids = loans(chain, n)
    wait(chain, 10)
    at = now(chain) + 1
    txs = []
    for i, r in enumerate(ids):
        loan = loans_api.find_loan(chain.state(), r)
        assert loan is not None
        loans_api.accrue_to(loan, at)
        owed = loan["interest_due"] + loan["outstanding"]
        txs.append(sign(chain, OUTSIDERS[i], "loans.repay", loan=r, amount=owed))
    return Prepared(txs)


@SCENARIOS.add(
    "loans.settle",
    "paying a loan off in full (L4): interest and principal, trust raised for 8 borrowers "
    "and 16 reviewers, stakes released, histories",
)
def _settle(chain: TestChain, n: int) -> Prepared:
    ids = loans(chain, n)
    wait(chain, 10)
    txs = [
        sign(chain, OUTSIDERS[i], "loans.settle", loan=r, max_amount=10**12)
        for i, r in enumerate(ids)
    ]
    return Prepared(txs)


@SCENARIOS.add(
    "loans.extend", "the 16th reviewer's matching vote: the due dates move, every vote deleted"
)
def _extend(chain: TestChain, n: int) -> Prepared:
    ids = loans(chain, n)
    panels = {r: reviewers(chain, r) for r in ids}
    run_many(
        chain,
        [sign(chain, k, "loans.extend", loan=r, seconds=3600) for r in ids for k in panels[r][:-1]],
    )
    return Prepared([sign(chain, panels[r][-1], "loans.extend", loan=r, seconds=3600) for r in ids])


@SCENARIOS.add(
    "loans.vote_writeoff",
    "the 16th reviewer's vote on a defaulted loan: "
    "written off, 64 funders' votes read, trust lowered for 24 parties",
)
def _writeoff(chain: TestChain, n: int) -> Prepared:
    ids = loans(chain, n, term=60, installments=1)
    wait(chain, 60 + 125)  # the term, then default_after (localnet)
    panels = {r: reviewers(chain, r) for r in ids}
    run_many(
        chain, [sign(chain, k, "loans.vote_writeoff", loan=r) for r in ids for k in panels[r][:-1]]
    )
    return Prepared([sign(chain, panels[r][-1], "loans.vote_writeoff", loan=r) for r in ids])
