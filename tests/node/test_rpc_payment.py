"""``payment_queryInfo`` (P1, P2) and the fee line of the wallet's signing summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import Keypair, blake2b256
from node.cli import common as common_cli
from node.cli import wallet as wallet_cli
from node.cli.fund import fund_app
from node.daemon.rpc_queries import register_payment_queries
from pallets import construct
from pallets.balances.storage import FREE
from rpc.errors import RpcError
from rpc.queries import register_queries
from rpc.registry import MethodRegistry
from tests.node.wallet_fakes import ChainClient, run_query, serve_chain
from tests.pallets.helpers import ALICE, BOB, TestChain


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestChain]:
    test_chain = TestChain(fees=True)
    registry = MethodRegistry()
    register_payment_queries(registry)
    serve_chain(monkeypatch, test_chain, registry, common_cli)
    yield test_chain


def query_info(raw: bytes) -> Any:
    return run_query(
        ChainClient.backend, ChainClient.registry, "payment_queryInfo", extrinsic="0x" + raw.hex()
    )


def test_query_info_is_what_inclusion_charges(chain: TestChain) -> None:
    raw = chain.transfer(ALICE, BOB.public, 5_000)
    info = query_info(raw)
    transfer = chain.runtime.registry.call("balances", "transfer")
    assert transfer is not None
    assert info["weight"] == chain.runtime.registry.weights.weight(transfer, 9)
    assert info["lengthBytes"] == len(raw)
    parts = info["inclusionFee"]
    total = int(parts["baseFee"]) + int(parts["lenFee"]) + int(parts["weightFee"])
    assert int(info["partialFee"]) == total > 0
    assert info["coveredByAllowance"] is False and info["canPay"] is True
    alice = FREE.get(chain.state(), ALICE.public)
    chain.execute([raw])
    assert FREE.get(chain.state(), ALICE.public) == alice - 5_000 - total


def test_query_info_shows_the_allowance_and_who_cannot_pay(chain: TestChain) -> None:
    args = {"request": 1, "reason_hash": bytes(32)}
    member = query_info(chain.sign(BOB, "credit", "declare_conflict", args))
    assert member["coveredByAllowance"] is True and member["partialFee"] == "0"
    pauper = Keypair.from_seed(blake2b256(b"pauper"))
    info = query_info(chain.transfer(pauper, BOB.public, 1))
    assert info["canPay"] is False and int(info["partialFee"]) > 0


def test_query_info_refuses_what_is_not_an_extrinsic(chain: TestChain) -> None:
    with pytest.raises(RpcError) as error:
        query_info(b"\x01\x02")
    assert error.value.code == -32602 and "extrinsic" in json.dumps(error.value.to_json())
    unknown = chain.sign(ALICE, "nowhere", "nothing", {})
    with pytest.raises(RpcError, match="unknown call"):
        query_info(unknown)


def test_the_wallet_shows_the_fee_before_signing(chain: TestChain, tmp_path: Path) -> None:
    env = {"CREDICHAIN_PASSPHRASE": "pw", "CREDICHAIN_KEYSTORE": str(tmp_path)}
    runner = CliRunner()
    assert (
        runner.invoke(wallet_cli.app, ["import", "alice", "--dev", "alice"], env=env).exit_code == 0
    )
    args = json.dumps({"dest": "0x" + BOB.public.hex(), "amount": 5_000})
    result = runner.invoke(
        wallet_cli.app,
        ["sign", "alice", "balances", "transfer", "--args", args, "--yes", "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    raw = bytes.fromhex(json.loads(result.stdout)["extrinsic"][2:])
    fee = query_info(raw)["partialFee"]
    assert "fee" in result.stderr and f"({fee} minor units)" in result.stderr


def _fee_checking_chain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[TestChain, dict[str, str], CliRunner]:
    """A chain with fees served to the CLI, with the two queries its pre-send check asks."""
    chain = TestChain(fees=True)
    registry = MethodRegistry()
    register_payment_queries(registry)
    register_queries(registry, construct.registry())  # balances_getBalance
    serve_chain(monkeypatch, chain, registry, common_cli)
    env = {"CREDICHAIN_PASSPHRASE": "pw", "CREDICHAIN_KEYSTORE": str(tmp_path)}
    return chain, env, CliRunner()


def test_a_transfer_beyond_balance_and_fee_is_refused_before_sending(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chain, env, runner = _fee_checking_chain(monkeypatch, tmp_path)
    assert runner.invoke(wallet_cli.app, ["import", "bob", "--dev", "bob"], env=env).exit_code == 0
    free = FREE.get(chain.state(), BOB.public)
    everything = f"{free // 10**6}.{free % 10**6:06d}"  # the whole balance: no room for the fee
    result = runner.invoke(
        wallet_cli.app, ["transfer", "bob", "0x" + ALICE.public.hex(), everything, "--yes"], env=env
    )
    assert result.exit_code == 1, result.output
    assert "less than the amount" in result.stderr and "plus the fee" in result.stderr
    assert "nothing was sent" in result.stderr
    assert ChainClient.receipts == []  # nothing was submitted
    assert FREE.get(chain.state(), BOB.public) == free


def test_any_call_its_signer_cannot_pay_the_fee_of_is_refused_before_sending(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every signed command (here ``fund create``) checks balance and fee before sending."""
    chain, env, runner = _fee_checking_chain(monkeypatch, tmp_path)
    pauper = Keypair.dev("pauper")  # no genesis balance
    assert FREE.get(chain.state(), pauper.public) == 0
    imported = runner.invoke(wallet_cli.app, ["import", "pauper", "--dev", "pauper"], env=env)
    assert imported.exit_code == 0
    height = chain.height
    result = runner.invoke(
        fund_app,
        ["--yes", "create", "pauper", "--name", "Broke", "--contribution", "10",
         "--purpose", "creative_project", "--rate-bps", "500"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "less than the fee" in result.stderr and "nothing was sent" in result.stderr
    assert "the amount" not in result.stderr
    assert chain.height == height  # nothing was submitted
