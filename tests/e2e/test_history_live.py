"""The history index on a real node (issue 20): a bank workload's transfers in both histories.

A one-validator localnet (a real process, LevelDB on disk, HTTP) runs a bank:
alice funds five accounts, then rounds in which every account sends a
random amount to another. After each phase every transfer must be in its
sender's and its receiver's ``account_history`` exactly once, in chain
order (the receipts' ``(height, index)``), read in pages of 7: first as
indexed live; then after ``kill -9`` and more transfers; then after a run
with the index off (``CREDICHAIN_HISTORY__ENABLED=false``: the methods answer
-32601) whose blocks the index catches up from the block store when the node
starts with it on again; then after the node is stopped and ``credichain
node reindex`` rebuilt the index from the blocks: every history is then the
same as before, entry for entry.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic
from node.cli.localnet import free_ports, prepare_localnet
from node.testing.procs import NodeProcess
from rpc.client import RpcClient, RpcConnectionError, RpcError

ACCOUNTS = 5
PER_ACCOUNT = 10_000_000  # 10 CRED at 6 decimals
PAGE = 7


class Bank:
    """Keys, their next nonces, and every transfer with where it was included."""

    def __init__(self, client: RpcClient, seed: int) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.keys = [
            Keypair.from_seed(blake2b256(f"history-bank/{seed}/{i}".encode()))
            for i in range(ACCOUNTS)
        ]
        self.alice = Keypair.dev("alice")
        self.hrp = client.properties().address_prefix
        self.genesis = client.genesis_hash()
        self.nonces: dict[bytes, int] = {}
        # extrinsic hash -> (sender, receiver, height, index)
        self.done: dict[bytes, tuple[bytes, bytes, int, int]] = {}

    def address(self, key: bytes) -> str:
        return encode_address(key, self.hrp)

    def _send(self, sender: Keypair, dest: bytes, amount: int) -> bytes:
        nonce = self.nonces.get(sender.public)
        if nonce is None:
            nonce = self.client.next_index(self.address(sender.public))
        self.nonces[sender.public] = nonce + 1
        call = Call("balances", "transfer", {"amount": amount, "dest": dest})
        valid_until = self.client.best_height() + 1000
        ext = Extrinsic.create(sender, nonce, valid_until, call, self.genesis)
        return self.client.submit(ext.encode())

    def _wait(self, sent: dict[bytes, tuple[bytes, bytes]], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sent:
            assert time.monotonic() < deadline, f"{len(sent)} transfers not final in {timeout} s"
            for tx_hash in list(sent):
                receipt = self.client.receipt(tx_hash)
                if receipt is not None:
                    assert receipt["success"], receipt["error"]
                    sender, dest = sent.pop(tx_hash)
                    self.done[tx_hash] = (sender, dest, receipt["height"], receipt["index"])
            time.sleep(0.2)

    def fund(self) -> None:
        sent = {
            self._send(self.alice, key.public, PER_ACCOUNT): (self.alice.public, key.public)
            for key in self.keys
        }
        self._wait(sent)

    def round(self) -> None:
        """Every account sends a random amount to a random other account."""
        sent = {}
        for index, key in enumerate(self.keys):
            other = self.keys[(index + self.rng.randrange(1, ACCOUNTS)) % ACCOUNTS]
            amount = self.rng.randrange(1_000, 100_000)
            sent[self._send(key, other.public, amount)] = (key.public, other.public)
        self._wait(sent)


def _history(client: RpcClient, address: str, order: str = "asc") -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.call_named(
            "account_history", address=address, cursor=cursor, limit=PAGE, order=order
        )
        assert len(page["entries"]) <= PAGE
        entries.extend(page["entries"])
        cursor = page["next"]
        if cursor is None:
            assert page["total"] == len(entries)
            return entries


def _check(bank: Bank) -> dict[str, list[dict[str, Any]]]:
    """Every transfer once in both histories, in chain order; the histories read."""
    seen = {}
    for key in [bank.alice, *bank.keys]:
        address = bank.address(key.public)
        entries = _history(bank.client, address)
        seen[address] = entries
        where = [(e["height"], e["position"]) for e in entries]
        assert where == sorted(where) and len(set(where)) == len(where), address
        hashes = [bytes.fromhex(e["extrinsicHash"][2:]) for e in entries if e["extrinsicHash"]]
        mine = sorted(
            (height, index, tx)
            for tx, (sender, dest, height, index) in bank.done.items()
            if key.public in (sender, dest)
        )
        assert [tx for tx in hashes if tx in bank.done] == [tx for _, _, tx in mine], address
        for tx, (sender, dest, _, _) in bank.done.items():
            if key.public in (sender, dest):
                assert hashes.count(tx) == 1, f"{tx.hex()} in {address}: {hashes.count(tx)} times"
    newest_first = _history(bank.client, bank.address(bank.keys[0].public), "desc")
    assert newest_first == list(reversed(seen[bank.address(bank.keys[0].public)]))
    return seen


def _wait_for_node(client: RpcClient, node: NodeProcess, above: int = 0) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert node.running, f"the node exited\n{node.log_tail()}"
        try:
            height = client.best_height()
            if height > above:
                return height
        except (RpcConnectionError, RpcError, OSError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"the node did not pass height {above}\n{node.log_tail()}")


def _refused(client: RpcClient, method: str, **params: Any) -> str:
    with pytest.raises(RpcError) as caught:
        client.call_named(method, **params)
    assert caught.value.code == -32602, caught.value
    return str(caught.value.data)


def test_bank_transfers_are_in_both_histories_once_across_restarts_and_a_rebuild(
    tmp_path: Path,
) -> None:
    ports = free_ports(1)
    home = prepare_localnet(tmp_path / "net", 1, ports)[0]
    node = NodeProcess(home)
    client = RpcClient(f"http://127.0.0.1:{ports.rpc}", timeout=10)
    try:
        node.start()
        _wait_for_node(client, node)
        bank = Bank(client, seed=20)
        bank.fund()
        for _ in range(3):
            bank.round()
        _check(bank)

        # Bad parameters are refused, naming what is wrong.
        address = bank.address(bank.keys[0].public)
        other = bank.address(bank.keys[1].public)
        first = client.call_named("account_history", address=address, limit=2)
        assert "another query" in _refused(
            client, "account_history", address=other, cursor=first["next"]
        )
        assert "not a cursor" in _refused(client, "account_history", address=address, cursor="x")
        assert "limit" in _refused(client, "account_history", address=address, limit=101)
        assert "address" in _refused(client, "account_history", address="cc1nope")
        assert "to_height" in _refused(
            client, "funds_statement", fund=0, from_height=9, to_height=3
        )
        empty = client.call_named("funds_statement", fund=0)
        assert (empty["entries"], empty["next"], empty["openingBalance"]) == ([], None, "0")

        # kill -9, then more transfers: the tail is caught up from the blocks on start.
        height = client.best_height()
        node.kill()
        node.start()
        _wait_for_node(client, node, height)
        bank.nonces.clear()
        for _ in range(2):
            bank.round()
        _check(bank)

        # With the index off, the node serves no history; on again, it catches up on start.
        node.stop()
        node.extra_env = {"CREDICHAIN_HISTORY__ENABLED": "false"}
        node.start()
        _wait_for_node(client, node)
        bank.round()
        with pytest.raises(RpcError) as caught:
            client.call_named("account_history", address=address)
        assert caught.value.code == -32601 and "history" in str(caught.value.data)
        node.stop()
        node.extra_env = {}
        node.start()
        _wait_for_node(client, node)
        assert "history index catching up" in node.log_path.read_text()
        before = _check(bank)
        total = sum(len(entries) for entries in before.values())
        assert total >= 2 * len(bank.done) - ACCOUNTS  # alice's own transfers count once each

        # Stopped, rebuilt from the blocks, started: the same histories.
        node.stop()
        rebuilt = subprocess.run(
            [sys.executable, "-m", "node.cli.main", "node", "reindex", "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "history index rebuilt from" in rebuilt.stdout
        node.start()
        _wait_for_node(client, node)
        assert _check(bank) == before
    finally:
        node.stop()
        client.close()
