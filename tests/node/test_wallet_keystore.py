"""The keystore per chain (node/cli/keystore.py): by genesis hash; old keys are kept.

HOME is a temporary folder, so ``~/.credichain`` is the test's own; the node
is a TestChain behind the fake RPC client (tests/node/wallet_fakes.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import Keypair, encode_address
from node.cli import common as common_cli
from node.cli.keystore import Keystore, chain_folder
from node.cli.main import mounted_app
from node.cli.wallet import store_key
from rpc.client import ChainProperties
from tests.node.wallet_fakes import ChainClient, serve_chain
from tests.pallets.helpers import TestChain
from tests.rpc.query_helpers import query_registry

credichain = mounted_app()

RPC = ["--rpc", "http://test"]


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CREDICHAIN_KEYSTORE", raising=False)
    serve_chain(monkeypatch, TestChain(), query_registry(), common_cli)
    yield tmp_path


def run(*args: str) -> Any:
    return CliRunner().invoke(credichain, ["wallet", *args, *RPC])


def chain_keys(home: Path) -> Path:
    genesis = ChainClient.backend.chain.genesis_hash
    return home / ".credichain" / "keys" / genesis.hex()[:8]


def test_the_default_keystore_is_the_chains_own_folder(home: Path) -> None:
    result = run("import", "alice", "--dev", "alice", "--localnet", "--json")
    assert result.exit_code == 0, result.output
    folder = chain_keys(home)
    assert json.loads(result.stdout)["file"] == str(folder / "alice.json")
    assert (folder / "alice.json").is_file()
    assert chain_folder(bytes.fromhex("ab" * 32)) == Path("~/.credichain/keys/abababab")
    listed = json.loads(run("list", "--json").stdout)
    assert listed["keystore"] == str(folder) and [k["name"] for k in listed["keys"]] == ["alice"]


def test_keystore_dir_means_exactly_that_dir(home: Path, tmp_path: Path) -> None:
    exact = tmp_path / "mine"
    result = run("import", "bob", "--dev", "bob", "--localnet", "--keystore", str(exact))
    assert result.exit_code == 0, result.output
    assert (exact / "bob.json").is_file() and not chain_keys(home).exists()


def test_keys_of_the_old_shared_folder_are_still_found_and_said_once(home: Path) -> None:
    old = home / ".credichain" / "wallet"
    store_key(old, "alice", Keypair.dev("alice"), True, "cc")
    carol = encode_address(Keypair.dev("carol").public)
    result = run("transfer", "alice", carol, "1", "--yes", "--localnet-keys", "--no-wait")
    assert result.exit_code == 0, result.output
    assert ChainClient.receipts[-1].success
    assert result.stderr.count("old shared keystore") == 1  # said once, though looked up twice
    assert f"mv {old / 'alice.json'}" in result.stderr
    listed = run("list", "--json")
    assert json.loads(listed.stdout)["keys"][0] | {"file": ""} == {
        "name": "alice", "address": encode_address(Keypair.dev("alice").public),
        "encrypted": False, "shared": True, "file": ""}  # fmt: skip
    address = run("address", "alice")
    assert address.exit_code == 0 and address.stdout.strip().startswith("cc1")
    # a key of the same name in the chain's folder comes first
    store_key(chain_keys(home), "alice", Keypair.dev("bob"), True, "cc")
    assert run("address", "alice").stdout.strip() == encode_address(Keypair.dev("bob").public)


def test_without_a_node_the_default_keystore_cannot_be_known(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CREDICHAIN_KEYSTORE", raising=False)
    result = CliRunner().invoke(credichain, ["wallet", "list", "--rpc", "http://127.0.0.1:1"])
    assert result.exit_code == 1
    assert "--keystore DIR" in result.output and "http://127.0.0.1:1" in result.output


def test_keystore_view_names_from_both_folders(tmp_path: Path) -> None:
    store_key(tmp_path / "old", "bob", Keypair.dev("bob"), True, "cc")
    store_key(tmp_path / "new", "alice", Keypair.dev("alice"), True, "cc")
    keys = Keystore(tmp_path / "new", tmp_path / "old")
    assert {path.stem: old for path, old in keys.files()} == {"alice": False, "bob": True}
    seen = keys.view(ChainProperties("CRED", 6, "cc"))
    bob, alice = Keypair.dev("bob").public, Keypair.dev("alice").public
    assert seen.account(encode_address(bob)) == "bob"
    assert seen.account(encode_address(alice)) == "alice"
    assert Keystore(tmp_path / "new").view(ChainProperties("CRED", 6, "cc")).names == {
        alice: "alice"
    }
