"""A community fund on a real localnet: created and joined through signed
extrinsics, read back over RPC (also at a past block), and the stopped chain
replayed by an auditor with every check."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.crypto import Keypair, encode_address
from ledger.types import Call, Extrinsic
from tests.e2e.cluster import Cluster, running_cluster

FUNDERS = [Keypair.dev(n) for n in ("alice", "bob", "charlie", "dave", "eve")]
C = 1_000 * 10**6  # 1 000 tokens at 6 decimals


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(Path(tmp_path_factory.mktemp("creditnet"))) as cluster:
        yield cluster


def _submit(net: Cluster, node: int, key: Keypair, call: Call) -> dict[str, Any]:
    rpc = net.clients[node]
    nonce = rpc.next_index(encode_address(key.public))
    ext = Extrinsic.create(key, nonce, rpc.best_height() + 100, call, net.genesis_hash)
    tx_hash = rpc.submit(ext.encode())
    net.wait_for("the extrinsic committed", lambda: rpc.receipt(tx_hash) is not None)
    receipt = rpc.receipt(tx_hash)
    assert receipt is not None
    return receipt


def test_fund_formed_on_a_live_network_and_replayed(net: Cluster) -> None:
    create = Call(
        "funds",
        "create",
        {
            "name": "FundZine",
            "scope": "a neighbourhood zine and its makers",
            "bioregion": None,
            "policy_hash": bytes(32),
            "conduct_hash": bytes(32),
            "contribution": C,
            "rate_bps": 500,
            "purposes": ["creative_project", "productive_enterprise"],
        },
    )
    receipt = _submit(net, 0, FUNDERS[0], create)
    assert receipt["success"], receipt["error"]
    forming_at = receipt["blockHash"]
    for index, key in enumerate(FUNDERS[1:], start=1):
        receipt = _submit(net, index % 4, key, Call("funds", "join", {"fund": 0}))
        assert receipt["success"], receipt["error"]
    late = _submit(net, 1, Keypair.dev("ferdie"), Call("funds", "join", {"fund": 0}))
    assert not late["success"]
    assert late["error"]["rule"] == "F4"  # an active fund admits only by consent

    for node in range(4):
        fund = net.clients[node].call("funds_get", 0)
        assert fund["name"] == "FundZine" and fund["status"] == "active"
        assert fund["cash"] == str(5 * C) and len(fund["funder_list"]) == 5
    assert net.clients[2].call("funds_get", 0, forming_at)["status"] == "forming"
    trust = net.clients[3].call("trust_get", 0, encode_address(FUNDERS[4].public))
    assert str(C // 10) in str(trust)  # T1: 10% of C

    top = max(h or 0 for h in net.heights())
    net.wait_height(top + 1)
    net.stop()
    result = subprocess.run(
        [sys.executable, "-m", "node.cli.main", "replay", "--home", str(net.homes[0])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replay verified" in result.stdout
    assert "funds              1" in result.stdout
