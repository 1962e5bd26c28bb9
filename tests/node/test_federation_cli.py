"""``credichain federation``: agreements proposed, shown and left through the CLI, on a TestChain.

The CLI talks JSON-RPC through ``RpcClient`` (the one ``node.cli.common``
imports, whose helpers every command group uses); here it is replaced
by ``ChainClient`` (tests/node/wallet_fakes.py), which executes submitted
extrinsics as blocks of a ``TestChain`` and answers queries through the real
federation query methods.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from node.cli import common as common_cli
from node.cli import federation as federation_cli
from node.cli.wallet import store_key
from tests.node.wallet_fakes import ChainClient, serve_chain
from tests.pallets.credit_helpers import FUNDERS, wait
from tests.pallets.federation_helpers import B_FUNDERS, federated_chain
from tests.rpc.query_helpers import query_registry

NAMES = {"alice": FUNDERS[0], "bea": B_FUNDERS[0]}


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    registry = query_registry()
    serve_chain(monkeypatch, federated_chain(2), registry, common_cli)
    for name, key in NAMES.items():
        store_key(tmp_path, name, key, True, "cc")
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Any:
        common = ["--keystore", str(tmp_path), "--rpc", "http://test", "--localnet-keys",
                  "--yes", "--no-wait"]  # fmt: skip
        result = runner.invoke(federation_cli.federation_app, [*common, *args])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield run


def _last_ok() -> None:
    receipt = ChainClient.receipts[-1]
    assert receipt.success, receipt.error


def test_two_funds_federate_and_one_leaves_through_the_cli(cli: Any) -> None:
    cli("propose", "alice", "0", "1", "--trust", "--losses")
    _last_ok()
    cli("propose", "bea", "1", "0", "--losses", "--trust")
    _last_ok()
    wait(ChainClient.backend.chain, 30)
    listed = json.loads(cli("list", "--json").stdout)
    assert [(a["funds"], a["option_names"]) for a in listed] == [([0, 1], ["trust", "losses"])]
    pair = json.loads(cli("show", "1", "--partner", "0", "--json").stdout)
    assert pair["agreement"]["options"] == 5 and pair["consents"] == []
    assert "agreements of fund 0" in cli("show", "0").stdout
    debts = json.loads(cli("debts", "--fund", "0", "--json").stdout)
    assert debts["ledgers"] == [] and debts["owed_by_fund"] == "0"
    assert "totals" in cli("debts").stdout
    missing = cli("loss", "0", "--json", ok=False)
    assert missing.exit_code == 1 and "not found" in missing.output

    cli("leave", "bea", "1", "0")
    _last_ok()
    wait(ChainClient.backend.chain, 30)
    assert json.loads(cli("list", "--json").stdout) == []


def test_refusals_are_clear(cli: Any) -> None:
    result = cli("propose", "alice", "0", "1", ok=False)
    assert result.exit_code == 1 and "--trust" in result.output
    cli("propose", "alice", "0", "0", "--trust")
    receipt = ChainClient.receipts[-1]
    assert receipt.error is not None and (receipt.error.code, receipt.error.rule) == (
        "SelfAgreement",
        "X1",
    )
    cli("split", "alice", "0", "1")
    receipt = ChainClient.receipts[-1]
    assert receipt.error is not None and receipt.error.code == "BadSplit"


def test_every_federation_call_has_a_command() -> None:
    from pallets.federation.calls import calls

    names = {c.name for c in federation_cli.federation_app.registered_commands}
    renamed = {"propose_leave": "leave"}
    assert all(renamed.get(c.name, c.name) in names for c in calls.defs)
