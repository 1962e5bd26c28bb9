"""``credichain members rotate|recover|cancel-recovery|finish-recovery`` (G1 key changes).

The commands sign through the real wallet path and a stand-in ``RpcClient``
that executes each extrinsic as a block of a ``TestChain`` (the real runtime,
tests/node/wallet_fakes.py); the effects are read back with the members query.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import Keypair, blake2b256, encode_address
from node.cli import common as common_cli
from node.cli import members as members_cli
from node.cli.wallet import store_key
from tests.node.wallet_fakes import ChainClient, run_query, serve_chain
from tests.pallets.helpers import ALICE, BOB, CHARLIE, TestChain
from tests.rpc.query_helpers import query_registry

NEW = Keypair.from_seed(blake2b256(b"members-keys-cli/new"))
LATER = Keypair.from_seed(blake2b256(b"members-keys-cli/later"))
DELAY = 60  # members.recovery_delay on a localnet genesis


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestChain]:
    test_chain = TestChain()
    serve_chain(monkeypatch, test_chain, query_registry(), common_cli)
    yield test_chain


def advance(chain: TestChain, seconds: int) -> None:
    chain.execute([], seconds=seconds)
    ChainClient.backend.record()


def member_of(account: bytes) -> Any:
    address = encode_address(account)
    return run_query(ChainClient.backend, ChainClient.registry, "members_get", address=address)


@pytest.fixture
def cli(chain: TestChain, tmp_path: Path) -> Any:
    names = {"alice": ALICE, "bob": BOB, "charlie": CHARLIE, "new": NEW, "later": LATER}
    for name, key in names.items():
        store_key(tmp_path, name, key, True, "cc")
    runner = CliRunner()
    options = ["--keystore", str(tmp_path), "--rpc", "http://test", "--localnet-keys", "--yes"]
    options.append("--no-wait")

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(members_cli.members_app, [*options, *args])
        receipt = ChainClient.receipts[-1] if ChainClient.receipts else None
        if ok:
            assert result.exit_code == 0, result.output
            assert receipt is not None and receipt.success, receipt
        return result, receipt

    return run


def test_rotate_moves_the_membership_to_the_new_key(cli: Any, chain: TestChain) -> None:
    _, receipt = cli("rotate", "bob", "new", ok=False)
    assert receipt is not None and receipt.error.code == "TooSoon"  # registered moments ago
    advance(chain, DELAY)
    cli("rotate", "bob", "new")
    assert member_of(BOB.public)["member"] is None
    shown = member_of(NEW.public)
    assert shown["member"]["bioregion"] == "localnet"
    assert shown["key_since"] == chain.time_ms // 1000 and shown["recovery"] is None


def test_a_registrar_recovers_a_lost_key_and_the_old_key_may_cancel(
    cli: Any, chain: TestChain
) -> None:
    advance(chain, DELAY)
    cli("recover", "alice", "charlie", "new")
    cli("cancel-recovery", "charlie")  # charlie still has the key: it was not lost
    _, receipt = cli("finish-recovery", "bob", "charlie", ok=False)
    assert receipt is not None and receipt.error.code == "NoRecovery"
    cli("recover", "alice", "charlie", "later")
    pending = member_of(CHARLIE.public)["recovery"]  # what the member sees, to cancel in time
    assert pending["new"] == encode_address(LATER.public)
    assert pending["registrar"] == encode_address(ALICE.public)
    assert pending["completes"] == pending["started"] + DELAY
    advance(chain, DELAY)
    cli("finish-recovery", "bob", "charlie")
    assert member_of(LATER.public)["member"]["bioregion"] == "localnet"
    assert member_of(CHARLIE.public)["member"] is None
