"""The wallet CLI through typer's CliRunner, against a real RPC server over a fake chain."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import Keypair, encode_address
from node.cli.common import CliError, format_amount, parse_amount
from node.cli.wallet import app
from tests.rpc.fake_backend import INITIAL
from tests.rpc.live_server import LiveServer

BOB = encode_address(Keypair.dev("bob").public)
PASS = "wallet test passphrase"


@pytest.fixture(scope="module")
def chain() -> Iterator[LiveServer]:
    server = LiveServer(block_interval=0.05).start()
    yield server
    server.stop()


@pytest.fixture
def wallet(chain: LiveServer, tmp_path: Path) -> Any:
    runner = CliRunner()

    def run(*args: str, passphrase: str = PASS, input: str | None = None) -> Any:
        env = {"CREDICHAIN_PASSPHRASE": passphrase, "CREDICHAIN_KEYSTORE": str(tmp_path)}
        return runner.invoke(app, [*args, "--rpc", chain.url] if _takes_rpc(args) else list(args),
                             env=env, input=input)  # fmt: skip

    return run


def _takes_rpc(args: tuple[str, ...]) -> bool:
    return args[0] in {"balance", "nonce", "transfer", "sign", "submit", "watch"}


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_new_list_address(wallet: Any, tmp_path: Path) -> None:
    created = as_json(wallet("new", "savings", "--json", "--yes"))
    assert created["name"] == "savings" and created["address"].startswith("cc1")
    path = tmp_path / "savings.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "crypto" in json.loads(path.read_text())
    assert as_json(wallet("address", "savings", "--json"))["address"] == created["address"]
    listed = as_json(wallet("list", "--json"))
    assert listed == {
        "keystore": str(tmp_path),
        "keys": [{"name": "savings", "address": created["address"], "encrypted": True,
                  "file": str(path)}],
    }  # fmt: skip
    table = wallet("list")  # not a terminal: the address is printed whole, not cut
    assert table.exit_code == 0 and created["address"] in table.stdout
    again = wallet("new", "savings")
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_import_dev_nonce_and_balance(wallet: Any, chain: LiveServer) -> None:
    as_json(wallet("import", "alice", "--dev", "alice", "--json"))
    alice = encode_address(Keypair.dev("alice").public)
    assert as_json(wallet("nonce", "alice", "--json")) == {"address": alice, "nonce": 0}
    assert as_json(wallet("nonce", BOB, "--json"))["nonce"] == 0
    shown = wallet("balance", "alice")
    assert shown.exit_code == 0
    assert shown.stdout.strip() == f"{alice}: {format_amount(INITIAL['alice'], 6, 'CC')}"


def test_transfer_waits_for_finality(wallet: Any, chain: LiveServer) -> None:
    as_json(wallet("import", "alice", "--dev", "alice", "--json"))
    before = as_json(wallet("balance", BOB, "--json"))
    outcome = as_json(wallet("transfer", "alice", BOB, "12.5", "--yes", "--json"))
    assert outcome["status"] == "finalized" and outcome["success"] is True
    assert outcome["events"][0]["attributes"]["amount"] == "12500000"
    after = as_json(wallet("balance", BOB, "--json"))
    assert int(after["free"]) - int(before["free"]) == 12_500_000
    receipt = chain.run(chain.backend.receipt, bytes.fromhex(outcome["hash"][2:]))
    assert receipt is not None and receipt.height == outcome["height"]


def test_transfer_refusals(wallet: Any, chain: LiveServer) -> None:
    as_json(wallet("import", "alice", "--dev", "alice", "--json"))
    too_fine = wallet("transfer", "alice", BOB, "0.0000001", "--yes")
    assert too_fine.exit_code == 1 and "more than 6 decimals" in too_fine.stderr
    typo = BOB[:-1] + ("q" if BOB[-1] != "q" else "p")
    bad = wallet("transfer", "alice", typo, "1", "--yes")
    assert bad.exit_code == 1 and "neither a key in the keystore nor an address" in bad.stderr
    wrong = wallet("transfer", "alice", BOB, "1", "--yes", passphrase="not it")
    assert wrong.exit_code == 1 and "wrong passphrase" in wrong.stderr
    pending = len(chain.run(chain.backend.pending_extrinsics))
    declined = wallet("transfer", "alice", BOB, "1", input="n\n")
    assert declined.exit_code == 1 and "cancelled; nothing was signed" in declined.stderr
    assert "balances.transfer" in declined.stderr  # the summary was shown first
    assert len(chain.run(chain.backend.pending_extrinsics)) == pending


def test_sign_then_submit_then_watch(wallet: Any) -> None:
    as_json(wallet("import", "alice", "--dev", "alice", "--json"))
    args = json.dumps({"amount": 5, "dest": BOB})
    signed = as_json(wallet("sign", "alice", "balances", "transfer", "--args", args, "--yes",
                            "--json"))  # fmt: skip
    outcome = as_json(wallet("submit", signed["extrinsic"], "--json"))
    assert outcome["hash"] == signed["hash"]
    assert outcome["status"] == "finalized" and outcome["success"] is True
    watched = as_json(wallet("watch", signed["hash"], "--json"))
    assert watched["height"] == outcome["height"]
    for wait in ("--wait", "--no-wait"):
        again = wallet("submit", signed["extrinsic"], wait)
        assert again.exit_code == 1 and "1013 Transaction Already Imported" in again.stderr
    float_arg = wallet("sign", "alice", "balances", "transfer", "--args", '{"amount": 1.5}')
    assert float_arg.exit_code == 1 and "must be integers" in float_arg.stderr


def test_unreachable_node(wallet: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["nonce", BOB, "--rpc", "http://127.0.0.1:1"])
    assert result.exit_code == 1 and "cannot reach the node" in result.stderr


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [("12.5", 6, 12_500_000), ("1", 0, 1), ("0.000001", 6, 1), ("1e3", 2, 100_000),
     ("  7.10 ", 2, 710), ("18446744073709.551615", 6, 2**64 - 1)],
)  # fmt: skip
def test_parse_amount_is_exact(text: str, decimals: int, units: int) -> None:
    assert parse_amount(text, decimals) == units


@pytest.mark.parametrize(
    ("text", "message"),
    [("0.0000001", "more than 6 decimals"), ("abc", "not a number"), ("NaN", "not a finite"),
     ("-1", "must be positive"), ("0", "must be positive"), ("1e30", "too large")],
)  # fmt: skip
def test_parse_amount_refusals(text: str, message: str) -> None:
    with pytest.raises(CliError, match=message):
        parse_amount(text, 6)


def test_format_amount() -> None:
    assert format_amount(1_234_567_890, 6, "CC") == "1,234.567890 CC"
    assert format_amount(5, 0, "X") == "5 X"
