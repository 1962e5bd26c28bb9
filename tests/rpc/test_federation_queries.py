"""The federation_* RPC queries over a real runtime: current and historical state, bad params.

A ``TestChain`` runs the loss-sharing scenario of the pallet tests (three
funds, fund 0 shares losses with 1 and 2, fund 2 short of cash); the
queries run through the real ``MethodRegistry`` methods, with the minimal
backend of tests/node/wallet_fakes.py that serves the state of every
recorded block hash (``at``).
"""

from __future__ import annotations

from typing import Any

import pytest

from pallets.funds.api import cash_account
from rpc.errors import INVALID_PARAMS, RpcError
from tests.node.wallet_fakes import ChainBackend, run_query
from tests.pallets.credit_helpers import ok, request_args
from tests.pallets.federation_helpers import EXTRA, shared_loss_chain
from tests.pallets.helpers import FERDIE, TestChain
from tests.rpc.query_helpers import query_registry

REGISTRY = query_registry()


@pytest.fixture(scope="module")
def scenario() -> tuple[TestChain, int, ChainBackend, bytes]:
    chain, loan, _ = shared_loss_chain()
    backend = ChainBackend(chain)
    # A split credit of 300 + 300 across funds 0 and 1 (federated).
    borrowers = list(EXTRA[:3])  # Lucía, Ana and Ben lost their trust at fund 0 (T4)
    for fund in (0, 1):
        ok(chain, EXTRA[0], "credit", "submit", **request_args(borrowers, 300, fund=fund))
    ok(chain, EXTRA[0], "federation", "split", requests=[1, 2])
    before_payment = backend.record()
    chain.execute([chain.transfer(FERDIE, cash_account(2), 100)])
    chain.execute([])  # the sweep pays fund 2's debt
    backend.record()
    return chain, loan, backend, before_payment


def call(backend: ChainBackend, method: str, **params: Any) -> Any:
    return run_query(backend, REGISTRY, method, **params)


def test_agreements_all_and_by_fund(scenario: Any) -> None:
    _, _, backend, _ = scenario
    every = call(backend, "federation_agreements")
    assert [(a["funds"], a["option_names"]) for a in every] == [
        ([0, 1], ["trust", "losses"]),
        ([0, 2], ["losses"]),
        ([1, 2], ["trust"]),
    ]
    assert [a["funds"] for a in call(backend, "federation_agreements", fund=2)] == [[0, 2], [1, 2]]
    assert call(backend, "federation_agreements", fund=9) == []


def test_get_two_funds_with_their_ledgers(scenario: Any) -> None:
    _, _, backend, _ = scenario
    pair = call(backend, "federation_get", fund=2, partner=0)
    assert pair["funds"] == [0, 2] and pair["agreement"]["options"] == 4
    assert pair["consents"] == []
    assert pair["ledgers"] == [
        {"debtor": 2, "creditor": 0, "shared": "99", "paid": "99", "owed": "0"},
        {"debtor": 0, "creditor": 2, "shared": "0", "paid": "0", "owed": "0"},
    ]
    assert call(backend, "federation_get", fund=3, partner=4)["agreement"] is None


def test_debts_now_and_at_a_past_block(scenario: Any) -> None:
    _, _, backend, before_payment = scenario
    earlier = call(backend, "federation_debts", fund=2, at="0x" + before_payment.hex())
    assert earlier["owed_by_fund"] == "49" and earlier["owed_to_fund"] == "0"
    now = call(backend, "federation_debts")
    assert now["ledgers"] == [
        {"debtor": 1, "creditor": 0, "shared": "99", "paid": "99", "owed": "0"},
        {"debtor": 2, "creditor": 0, "shared": "99", "paid": "99", "owed": "0"},
    ]
    assert now["owed_by_fund"] == "0"


def test_loss_and_split(scenario: Any) -> None:
    _, loan, backend, _ = scenario
    loss = call(backend, "federation_getLoss", loan=loan)
    assert (loss["missing"], loss["share"], loss["kept_by_fund"]) == ("299", "99", "101")
    assert loss["parts"] == [
        {"partner": 1, "paid": "99", "owed": "0"},
        {"partner": 2, "paid": "50", "owed": "49"},
    ]
    assert call(backend, "federation_getLoss", loan=loan + 1) is None
    split = call(backend, "federation_getSplit", request=2)
    assert split["parts"] == [{"request": 1, "fund": 0}, {"request": 2, "fund": 1}]
    assert split["amount"] == "600" and split["submitter"].startswith("cc1")
    assert call(backend, "federation_getSplit", request=0) is None


@pytest.mark.parametrize(
    ("method", "params", "named"),
    [
        ("federation_get", {"fund": 1, "partner": 1}, "partner must be another fund"),
        ("federation_get", {"fund": 1}, "partner: required parameter missing"),
        ("federation_agreements", {"fund": -1}, "fund:"),
        ("federation_getLoss", {"loan": "x"}, "loan:"),
        ("federation_debts", {"at": "0x" + "11" * 32}, "unknown block"),
    ],
)
def test_bad_parameters_are_named(scenario: Any, method: str, params: Any, named: str) -> None:
    _, _, backend, _ = scenario
    with pytest.raises(RpcError) as caught:
        call(backend, method, **params)
    assert caught.value.code == INVALID_PARAMS
    assert named in str(caught.value.data) + str(caught.value)
