"""Shared steps for the federation tests: several funds on one TestChain, agreements by consent.

Fund 0 is the FundZine of ``credit_helpers`` (Alice..Eve); funds 1 and 2
have five funders each of their own (``B_FUNDERS``, ``C_FUNDERS``), all with
C = 1 000, so every fund starts with 5 000 cash and everyone's initial
trust is 100 at each. Agreements form through signed federate proposals of
both funds and the localnet consent period (30 s).
"""

from __future__ import annotations

from typing import Any

from ledger.crypto import Keypair, blake2b256
from ledger.types import Event
from pallets.federation.storage import LOSSES, TRUST
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    CONCLUSIONS,
    FUNDERS,
    LUCIA,
    create_args,
    ok,
    owed_next_block,
    register,
    request,
    submit_valid,
    wait,
)
from tests.pallets.helpers import FERDIE, TestChain

B_FUNDERS = tuple(Keypair.from_seed(blake2b256(b"federation/b" + bytes([i]))) for i in range(5))
C_FUNDERS = tuple(Keypair.from_seed(blake2b256(b"federation/c" + bytes([i]))) for i in range(5))
EXTRA = tuple(Keypair.from_seed(blake2b256(b"federation/x" + bytes([i]))) for i in range(4))
FUND_KEYS = {0: FUNDERS, 1: B_FUNDERS, 2: C_FUNDERS}
REASON = blake2b256(b"reasons")
CONSENT_PERIOD = 30


def add_fund(chain: TestChain, funders: tuple[Keypair, ...], name: str) -> None:
    ok(chain, funders[0], "funds", "create", **create_args(name=name))
    chain.execute(
        [chain.sign(key, "funds", "join", {"fund": fund_id(chain, name)}) for key in funders[1:]]
    )


def fund_id(chain: TestChain, name: str) -> int:
    from pallets.funds.storage import FUNDS

    for fund, record in FUNDS.items(chain.state()):
        if record.name == name:
            return fund
    raise KeyError(name)


def federated_chain(funds: int = 3) -> TestChain:
    """Funds 0..funds-1, each active with 5 000 cash; borrowers and extras: persons with money."""
    chain = TestChain()
    keys = [*B_FUNDERS, *C_FUNDERS, LUCIA, ANA, BEN, *EXTRA]
    chain.execute([chain.transfer(FERDIE, key.public, 10**9) for key in keys])
    register(chain, *B_FUNDERS, *C_FUNDERS, *EXTRA)  # persons: initial trust (T1)
    for index in range(funds):
        add_fund(chain, FUND_KEYS[index], f"Fund{index}")
    return chain


def propose(chain: TestChain, fund: int, partner: int, options: int) -> None:
    ok(
        chain,
        FUND_KEYS[fund][0],
        "federation",
        "propose",
        fund=fund,
        partner=partner,
        options=options,
        reason_hash=REASON,
    )


def federate(chain: TestChain, a: int, b: int, options: int) -> None:
    """Both funds propose in one block; their consent periods end together."""
    chain.execute(
        [
            chain.sign(
                FUND_KEYS[fund][0],
                "federation",
                "propose",
                {"fund": fund, "partner": other, "options": options, "reason_hash": REASON},
            )
            for fund, other in ((a, b), (b, a))
        ]
    )
    wait(chain, CONSENT_PERIOD)


EVERYONE = (*FUNDERS, *B_FUNDERS, *C_FUNDERS, LUCIA, ANA, BEN, *EXTRA, FERDIE)


def key_of(account: bytes) -> Keypair:
    return next(key for key in EVERYONE if key.public == account)


def named(events: Any, name: str) -> list[dict[str, Any]]:
    return [e.attrs for e in events if isinstance(e, Event) and e.name == name]


def block_events(result: Any) -> list[Event]:
    return [*result.events, *(e for r in result.receipts for e in r.events)]


def approve_all(chain: TestChain, request_id: int) -> list[bytes]:
    """Wait for review_min; every drawn reviewer (of any fund) approves."""
    wait(chain, 20)
    reviewers: list[bytes] = request(chain, request_id)["reviewers"]
    for reviewer in reviewers:
        ok(chain, key_of(reviewer), "credit", "review", request=request_id, verdict="approve",
           conclusions_hash=CONCLUSIONS)  # fmt: skip
    assert request(chain, request_id)["status"] == "approved"
    return reviewers


def shared_loss_chain() -> tuple[TestChain, int, Any]:
    """Funds 0-2; 0 shares losses with 1 and 2; 2 has 50 cash; 0 writes off 299 of a loan.

    Returns the chain, the loan id and the receipt of the vote that wrote it off.
    """
    chain = federated_chain(3)
    ok(chain, C_FUNDERS[0], "funds", "propose", fund=2, kind="expense",
       subject=C_FUNDERS[0].public, amount=4950, rate_bps=0, apply_to_open=False,
       reason_hash=REASON)  # fmt: skip
    federate(chain, 0, 1, LOSSES | TRUST)
    federate(chain, 0, 2, LOSSES)
    federate(chain, 1, 2, TRUST)  # no loss sharing between 1 and 2
    loan = submit_valid(chain, [LUCIA, ANA, BEN], 300, term=60, installments=1)
    reviewers = approve_all(chain, loan)
    interest, _ = owed_next_block(chain, loan)
    ok(chain, LUCIA, "loans", "repay", loan=loan, amount=interest + 1)
    wait(chain, 60 + 120)
    for reviewer in reviewers[:-1]:
        ok(chain, key_of(reviewer), "loans", "vote_writeoff", loan=loan)
    receipt = ok(chain, key_of(reviewers[-1]), "loans", "vote_writeoff", loan=loan)
    return chain, loan, receipt
