"""Global options (node/cli/options.py): the same options before or after the subcommand.

Through ``credichain``'s own app (node.cli.main), as a person types them, on a
TestChain behind the fake RPC client (tests/node/wallet_fakes.py); and the
rules of the machinery on a small group of its own (after wins over before, a
nested group, the ``--node`` alias, a command's own ``--json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from ledger.crypto import Keypair
from node.cli import common as common_cli
from node.cli.main import mounted_app
from node.cli.options import JsonOut, group, options
from node.cli.wallet import store_key
from pallets.balances.storage import FREE
from tests.node.wallet_fakes import ChainClient, serve_chain
from tests.pallets.credit_helpers import FUNDERS, fund_zine
from tests.rpc.query_helpers import query_registry

credichain = mounted_app()

CAROL = Keypair.dev("carol")


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """A chain with fund 0 (alice..eve funders) and the global options for it."""
    chain = fund_zine(contribution=5_000_000)
    serve_chain(monkeypatch, chain, query_registry(), common_cli)
    for name, key in zip(("alice", "bob", "charlie", "dave", "eve"), FUNDERS, strict=True):
        store_key(tmp_path, name, key, True, "cc")
    store_key(tmp_path, "carol", CAROL, True, "cc")
    yield ["--keystore", str(tmp_path), "--rpc", "http://test", "--localnet-keys", "--no-wait"]


def run(*args: str) -> Any:
    return CliRunner().invoke(credichain, list(args))


def test_yes_before_and_after_the_subcommand(keys: list[str]) -> None:
    before = run(
        "fund", *keys, "--yes", "propose", "alice", "0", "interest_rate", "--rate-bps", "100"
    )
    assert before.exit_code == 0, before.output
    after = run("fund", "propose", "bob", "0", "interest_rate", "--rate-bps", "200", *keys, "--yes")
    assert after.exit_code == 0, after.output
    assert [r.success for r in ChainClient.receipts] == [True, True]
    asked = run("fund", "propose", "charlie", "0", "interest_rate", *keys)  # no --yes: it asks
    assert asked.exit_code == 1 and "Sign and submit?" in asked.output
    assert len(ChainClient.receipts) == 2  # nothing more was signed


def test_options_split_around_the_subcommand(keys: list[str]) -> None:
    rpc, rest = keys[:4], keys[4:]  # --keystore/--rpc before, the others after
    result = run("gov", *rpc, "propose", "set-param", "alice", "redistribution",
                 "redistribution_share", "200", *rest, "-y")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ChainClient.receipts[-1].success


@pytest.mark.parametrize("placement", ["before", "after"])
def test_json_before_or_after_on_queries(keys: list[str], placement: str) -> None:
    show = ["show", "0"]
    args = [*keys, "--json", *show] if placement == "before" else [*show, *keys, "--json"]
    result = run("fund", *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["contribution"] == "5000000"  # raw minor units
    if placement == "before":
        names = run("wallet", *keys[:2], "--json", "list")
    else:
        names = run("wallet", "list", *keys[:2], "--json")
    assert "carol" in {row["name"] for row in json.loads(names.stdout)["keys"]}


@pytest.mark.parametrize("placement", ["after", "before", "node alias"])
def test_wallet_transfer_with_options_anywhere(keys: list[str], placement: str) -> None:
    if placement == "after":
        args = ["wallet", "transfer", "alice", "carol", "5", *keys, "--yes"]
    elif placement == "before":
        args = ["wallet", *keys, "--yes", "transfer", "alice", "carol", "5"]
    else:
        swapped = [("--node" if k == "--rpc" else k) for k in keys]
        args = ["wallet", "transfer", "alice", "carol", "5", *swapped, "--yes"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert ChainClient.receipts[-1].success
    assert FREE.get(ChainClient.backend.chain.state(), CAROL.public) >= 5_000_000


def test_a_negative_amount_after_the_options_is_still_an_amount(keys: list[str]) -> None:
    result = run("wallet", "transfer", "alice", "carol", "-5", *keys, "--yes")
    assert result.exit_code == 1 and "must be positive" in result.output
    assert "No such option" not in result.output and ChainClient.receipts == []


# ------------------------------------------------------------- the machinery itself

probe = group("a probe")
inner = typer.Typer(help="a nested group")
probe.add_typer(inner, name="inner")


@probe.command("show")
def probe_show(ctx: typer.Context, as_json: JsonOut = False) -> None:
    found = options(ctx)
    typer.echo(json.dumps({"rpc": found.rpc, "yes": found.yes, "wait": found.wait,
                           "timeout": found.timeout, "json": as_json,
                           "keystore": str(found.keystore)}))  # fmt: skip


@inner.command("deep")
def probe_deep(ctx: typer.Context, word: Annotated[str, typer.Argument()] = "") -> None:
    found = options(ctx)
    typer.echo(json.dumps({"rpc": found.rpc, "yes": found.yes, "json": found.json, "word": word}))


def seen(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(probe, list(args), env={"CREDICHAIN_RPC": None})
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_after_wins_over_before_and_defaults_stay() -> None:
    assert seen("show") == {"rpc": "http://127.0.0.1:9944", "yes": False, "wait": True,
                            "timeout": 60.0, "json": False, "keystore": "None"}  # fmt: skip
    found = seen("--rpc", "http://a", "--no-wait", "show", "--rpc", "http://b", "--timeout", "5")
    assert found["rpc"] == "http://b" and found["wait"] is False and found["timeout"] == 5.0
    assert seen("--no-wait", "show", "--wait")["wait"] is True  # the default, said after: wins
    assert seen("--node", "http://n", "show")["rpc"] == "http://n"


def test_a_commands_own_json_takes_the_value_given_before() -> None:
    assert seen("--json", "show")["json"] is True
    assert seen("show", "--json")["json"] is True
    assert seen("--keystore", "/k", "show", "-y") | {"json": None} == {
        "rpc": "http://127.0.0.1:9944", "yes": True, "wait": True, "timeout": 60.0,
        "json": None, "keystore": "/k"}  # fmt: skip


def test_nested_groups_take_the_options_after_their_commands() -> None:
    assert seen("--yes", "inner", "deep", "w", "--json", "--rpc", "http://x") == {
        "rpc": "http://x", "yes": True, "json": True, "word": "w"}  # fmt: skip


def test_the_options_are_in_every_commands_help() -> None:
    result = CliRunner().invoke(credichain, ["fund", "join", "--help"])
    assert result.exit_code == 0
    for flag in ("--yes", "--json", "--rpc", "--no-wait", "--keystore", "--localnet-keys"):
        assert flag in result.output
