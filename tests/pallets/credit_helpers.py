"""Shared steps for the funds, trust, credit and loans tests: a FundZine on a TestChain.

Everything goes through signed extrinsics executed block by block
(``TestChain``), with the localnet periods (consent 30 s, review 20-60 s,
default 120 s, membership 300 s, exit 120 s).
"""

from __future__ import annotations

from typing import Any

from ledger.crypto import Keypair, blake2b256
from ledger.types import Receipt
from pallets.balances.currency import free_balance
from pallets.credit.storage import REQUEST, REQUESTS
from pallets.funds import api as funds_api
from pallets.loans import api as loans_api
from tests.pallets.helpers import ALICE, ANA, BEN, BOB, CHARLIE, DAVE, EVE, FERDIE, LUCIA, TestChain

FUNDERS = (ALICE, BOB, CHARLIE, DAVE, EVE)
POLICY, CONDUCT = blake2b256(b"policy"), blake2b256(b"conduct")
CONCLUSIONS = blake2b256(b"we reviewed everything")
C = 1000


def ok(chain: TestChain, key: Keypair, pallet: str, function: str, **args: Any) -> Receipt:
    """Execute one signed call in its own block and require success."""
    result = chain.execute([chain.sign(key, pallet, function, args)])
    (receipt,) = result.receipts
    assert receipt.success, receipt.error
    return receipt


def register(chain: TestChain, *keys: Keypair) -> None:
    """ALICE, the test genesis's registrar, registers each key as a person (G1, so T1 applies)."""
    result = chain.execute(
        [
            chain.sign(
                ALICE,
                "members",
                "register",
                {
                    "member": k.public,
                    "bioregion": "localnet",
                    "attestation": blake2b256(b"credit-test/person/" + k.public),
                },
            )
            for k in keys
        ]
    )
    assert all(r.success for r in result.receipts), [r.error for r in result.receipts]


def wait(chain: TestChain, seconds: int) -> None:
    chain.execute([], seconds=seconds)


def create_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "name": "FundZine",
        "scope": "fanzine creators",
        "bioregion": None,
        "policy_hash": POLICY,
        "conduct_hash": CONDUCT,
        "contribution": C,
        "rate_bps": 500,
        "purposes": ["creative_project", "educational_initiative"],
    }
    args.update(overrides)
    return args


def fund_zine(
    chain: TestChain | None = None,
    *,
    rate_bps: int = 500,
    contribution: int = C,
    trust_initial: int | None = None,
) -> TestChain:
    """Five funders x 1 000: fund 0, active. Lucía, Ana and Ben get some money.

    ``trust_initial`` (bps of C, T1) raises everyone's starting trust, for tests
    that keep several credits open at once: trust is exposure (T5).
    """
    if chain is None:
        from tests.pallets.helpers import test_doc

        params = {} if trust_initial is None else {"trust": {"trust_initial": trust_initial}}
        chain = TestChain(test_doc(params=params) if params else None)
    ok(chain, ALICE, "funds", "create", **create_args(rate_bps=rate_bps, contribution=contribution))
    chain.execute([chain.sign(key, "funds", "join", {"fund": 0}) for key in FUNDERS[1:]])
    chain.execute([chain.transfer(FERDIE, key.public, 10**9) for key in (LUCIA, ANA, BEN)])
    return chain


def request_args(borrowers: list[Keypair], amount: int = 300, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "fund": 0,
        "borrowers": [b.public for b in borrowers],
        "amount": amount,
        "purpose": "creative_project",
        "recipient": borrowers[0].public,
        "term": 90,
        "installments": 3,
        # F10: the texts live off chain; the request names them by hash
        "what_hash": blake2b256(b"print the new fanzine and improve its distribution"),
        "repayment_good_hash": blake2b256(b"sales at three fairs"),
        "repayment_bad_hash": blake2b256(b"sales at one fair and savings"),
        "trust_reasons_hash": blake2b256(b"two friends vouch for her"),
        "documents": [blake2b256(b"budget.pdf")],
        "providers": [],
    }
    args.update(overrides)
    return args


def request(chain: TestChain, request_id: int) -> dict[str, Any]:
    raw = REQUESTS.get(chain.state(), request_id)
    assert raw is not None
    return REQUEST.unwire(raw)


def submit_valid(chain: TestChain, borrowers: list[Keypair], amount: int = 300, **kw: Any) -> int:
    """Submit, collect every co-signature, and run the draw (two blocks later)."""
    request_id = _next_id(chain)
    ok(chain, borrowers[0], "credit", "submit", **request_args(borrowers, amount, **kw))
    for co in borrowers[1:]:
        ok(chain, co, "credit", "sign", request=request_id)
    wait(chain, 1)
    wait(chain, 1)
    assert request(chain, request_id)["status"] == "in_review"
    return request_id


def _next_id(chain: TestChain) -> int:
    from pallets.credit.storage import NEXT_REQUEST

    value: int = NEXT_REQUEST.get(chain.state())
    return value


def key_of(account: bytes) -> Keypair:
    for key in (*FUNDERS, FERDIE, LUCIA, ANA, BEN):
        if key.public == account:
            return key
    raise KeyError(account.hex())


def approve(chain: TestChain, request_id: int) -> list[Keypair]:
    """Wait for review_min, then every reviewer approves: the loan is disbursed."""
    wait(chain, 20)
    reviewers = [key_of(r) for r in request(chain, request_id)["reviewers"]]
    for reviewer in reviewers:
        ok(
            chain,
            reviewer,
            "credit",
            "review",
            request=request_id,
            verdict="approve",
            conclusions_hash=CONCLUSIONS,
        )
    assert request(chain, request_id)["status"] == "approved"
    return reviewers


def owed_next_block(chain: TestChain, loan_id: int, seconds: int = 1) -> tuple[int, int]:
    """(interest, principal) owed at the next block's time."""
    loan = loans_api.find_loan(chain.state(), loan_id)
    assert loan is not None
    loans_api.accrue_to(loan, chain.time_ms // 1000 + seconds)
    return loan["interest_due"], loan["outstanding"]


def repay_all(chain: TestChain, payer: Keypair, loan_id: int) -> None:
    interest, principal = owed_next_block(chain, loan_id)
    ok(chain, payer, "loans", "repay", loan=loan_id, amount=interest + principal)


def cash(chain: TestChain, fund_id: int = 0) -> int:
    return funds_api.cash(chain.state(), fund_id)


def balance(chain: TestChain, key: Keypair) -> int:
    return free_balance(chain.state(), key.public)
