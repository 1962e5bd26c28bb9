"""The governance and members RPC queries, and ``credichain gov|members``, on a TestChain.

Queries run through the real ``MethodRegistry`` methods (generated from the
pallets' declarations: parameter parsing, ``at``) over a minimal backend; the
wallet commands talk to a stand-in ``RpcClient`` that executes each submitted
extrinsic as a block of the ``TestChain`` (the real runtime): ``ChainClient``
of tests/node/wallet_fakes.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import Keypair, blake2b256, encode_address
from node.cli import common as common_cli
from node.cli import gov as gov_cli
from node.cli import members as members_cli
from node.cli.common import CliError
from node.cli.wallet import store_key
from pallets.governance.allowlist import encode_call
from pallets.support.params import param
from tests.node.wallet_fakes import ChainClient, run_query, serve_chain
from tests.pallets.helpers import ALICE, BOB, CHARLIE, DAVE, TestChain
from tests.pallets.helpers import test_doc as genesis_doc
from tests.rpc.query_helpers import query_registry

NAMES = {"alice": ALICE, "bob": BOB, "charlie": CHARLIE, "dave": DAVE}
LUCIA = Keypair.from_seed(blake2b256(b"rpc-gov-test/lucia"))
NEW_VALIDATOR = Keypair.from_seed(blake2b256(b"rpc-gov-test/validator"))


def query(method: str, **params: Any) -> Any:
    return run_query(ChainClient.backend, ChainClient.registry, method, **params)


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestChain]:
    test_chain = TestChain(genesis_doc(people=False))  # the six dev accounts are the members
    registry = query_registry()
    serve_chain(monkeypatch, test_chain, registry, common_cli)
    yield test_chain


def advance(chain: TestChain, seconds: int) -> None:
    chain.execute([], seconds=seconds)
    ChainClient.backend.record()


def to_round(chain: TestChain, index: int) -> None:
    while (current := query("gov_round"))["round"] < index:
        advance(chain, current["ends"] - current["now"])


@pytest.fixture
def cli(chain: TestChain, tmp_path: Path) -> Any:
    for name, key in {**NAMES, "lucia": LUCIA}.items():
        store_key(tmp_path, name, key, True, "cc")
    runner = CliRunner()

    def run(app: Any, *args: str, ok: bool = True) -> Any:
        common = [
            "--keystore",
            str(tmp_path),
            "--rpc",
            "http://test",
            "--localnet-keys",
            "--yes",
            "--no-wait",
        ]
        result = runner.invoke(app, [*common, *args])
        if ok:
            assert result.exit_code == 0, result.output
        if ChainClient.receipts:
            receipt = ChainClient.receipts[-1]
            assert receipt.success or not ok, receipt.error
        return result

    return run


def test_a_proposal_from_the_cli_to_enactment_read_over_rpc(cli: Any, chain: TestChain) -> None:
    gov = gov_cli.gov_app
    cli(gov, "propose", "set-param", "alice", "funds", "min_funders", "4")
    rows = json.loads(cli(gov, "list", "--json").stdout)
    assert [(r["id"], r["phase"], r["round"]) for r in rows] == [(0, "announced", 1)]
    assert rows[0]["call"]["args"] == {"section": "funds", "name": "min_funders", "value": 4}
    to_round(chain, 1)
    cli(gov, "vote", "bob", "0", "3")
    cli(gov, "vote", "charlie", "0", "2", "--against")
    cli(gov, "vote", "dave", "0", "2")
    shown = json.loads(cli(gov, "show", "0", "--json").stdout)
    assert (shown["phase"], shown["votes_for"], shown["votes_against"]) == ("voting", 5, 2)
    assert shown["credits_spent"] == 9 + 4 + 4 and shown["passing_now"] is True
    assert shown["voters_needed"] == 2  # 20% of 6 members, rounded up
    assert {b["account"]: (b["votes"], b["cost"]) for b in shown["ballots"]} == {
        encode_address(BOB.public): (3, 9),
        encode_address(CHARLIE.public): (-2, 4),
        encode_address(DAVE.public): (2, 4),
    }
    credits = json.loads(cli(gov, "credits", "bob", "--json").stdout)
    assert (credits["budget"], credits["spent"], credits["left"], credits["open"]) == (
        100,
        9,
        91,
        True,
    )
    to_round(chain, 2)
    advance(chain, 5)
    detail = query("gov_proposal", proposal=0)
    assert (detail["status"], detail["deposit_state"], detail["members_at_tally"]) == (
        "enacted",
        "refunded",
        6,
    )
    assert param(chain.state(), "funds", "min_funders") == 4
    past = query("gov_voter", round=1, address=encode_address(BOB.public))
    assert (past["spent"], past["open"]) == (9, False)
    table = cli(gov, "list").stdout
    assert "system.set_param" in table and "enacted" in table


def test_bad_proposals_and_votes_are_refused_with_the_reason(cli: Any, chain: TestChain) -> None:
    gov = gov_cli.gov_app
    result = cli(gov, "propose", "call", "alice", "balances", "transfer", "{}", ok=False)
    assert result.exit_code == 1 and "not on the governance list" in result.output
    result = cli(gov, "propose", "set-params", "alice", "credit=1", ok=False)
    assert result.exit_code == 1 and "SECTION.NAME=VALUE" in result.output
    cli(gov, "propose", "set-param", "alice", "governance", "quorum", "10001", ok=False)
    receipt = ChainClient.receipts[-1]
    assert receipt.error is not None and receipt.error.code == "BadCallArguments"
    cli(gov, "propose", "add-validator", "alice", "0x" + NEW_VALIDATOR.public.hex())
    to_round(chain, 1)
    cli(gov, "vote", "bob", "0", "11", ok=False)
    receipt = ChainClient.receipts[-1]
    assert receipt.error is not None and (receipt.error.code, receipt.error.rule) == (
        "OverBudget",
        "G3",
    )


def test_propose_call_converts_json_arguments_by_their_declared_types(chain: TestChain) -> None:
    def resolve(who: str) -> bytes:
        return NAMES[who].public

    built = gov_cli.build_call(
        "members", "add_registrar", {"bioregion": "localnet", "registrar": "bob"}, resolve
    )
    assert built == encode_call(
        "members", "add_registrar", {"bioregion": "localnet", "registrar": BOB.public}
    )
    hexed = gov_cli.build_call(
        "system",
        "set_params",
        {"changes": [{"section": "funds", "name": "min_funders", "value": "4"}]},
        resolve,
    )
    assert hexed == encode_call("system", "set_params", {"changes": [["funds", "min_funders", 4]]})
    with pytest.raises(CliError, match="takes no argument 'nope'"):
        gov_cli.build_call("system", "set_param", {"nope": 1}, resolve)
    with pytest.raises(CliError, match="validator: expected 0x-hex bytes"):
        gov_cli.build_call("system", "remove_validator", {"validator": 5}, resolve)


def test_members_commands_and_queries(cli: Any, chain: TestChain) -> None:
    app = members_cli.members_app
    cli(app, "register", "alice", "lucia", "localnet", "0x" + "ab" * 32)
    shown = json.loads(cli(app, "show", "lucia", "--json").stdout)
    assert shown["member"]["bioregion"] == "localnet"
    assert shown["member"]["registrar"] == encode_address(ALICE.public)
    assert shown["member"]["attestation"] == "0x" + "ab" * 32
    assert json.loads(cli(app, "show", "alice", "--json").stdout)["registrar_of"] == ["localnet"]
    listed = json.loads(cli(app, "list", "--bioregion", "localnet", "--json").stdout)
    assert encode_address(LUCIA.public) in [m["account"] for m in listed] and len(listed) == 7
    registrars = json.loads(cli(app, "registrars", "--json").stdout)
    assert registrars == [{"bioregion": "localnet", "account": encode_address(ALICE.public)}]
    cli(app, "revoke", "bob", "lucia", ok=False)
    receipt = ChainClient.receipts[-1]
    assert receipt.error is not None and receipt.error.code == "NotRegistrar"
    cli(app, "revoke", "alice", "lucia")
    assert query("members_get", address=encode_address(LUCIA.public))["member"] is None
    result = cli(app, "list", "--bioregion", "Not-An-Id", ok=False)
    assert result.exit_code == 1 and "snake case" in result.output


def test_round_query_and_historical_reads(chain: TestChain) -> None:
    first = query("gov_round")
    assert (first["round"], first["budget"], first["members"]) == (0, 100, 6)
    assert first["rules"]["quorum"] == 2000 and first["rules"]["validator_change_ratio"] == 2
    old_hash = chain.parent_hash
    to_round(chain, 1)
    assert query("gov_round")["round"] == 1
    assert query("gov_round", at="0x" + old_hash.hex())["round"] == 0
    assert query("gov_proposal", proposal=7) is None
    assert query("gov_proposals") == []
