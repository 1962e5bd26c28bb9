"""Validator-set changes by governance on a real localnet (G4-G6).

Four validators run; the dev members propose, in one round, to add a fifth
validator (a fresh key, no process yet) and to remove validator 3. Both are
voted on in the next round (localnet rounds last 20 s), pass with more than
twice as many votes for as against, and are enacted 5 s after the tally, at
height H. From H + 2 the headers carry the new set. Then validator 3 stops
and the new validator starts: the others accept its connection because the
p2p allowlist follows the validator set, it syncs, and its precommits appear
in the commits of later blocks, never of a block before H + 2; the chain goes
on without validator 3. Under ~90 s on an idle machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genesis.build import load_genesis
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.types import Call, Extrinsic, Validator, ValidatorSet
from node.cli.localnet import free_ports
from node.cli.node import init_home
from node.daemon.config import MetricsSection, NodeConfig, NodeSection, P2PSection, RpcSection
from node.testing.procs import NodeProcess
from pallets.governance.allowlist import encode_call
from rpc.client import RpcClient, RpcConnectionError, RpcError
from tests.e2e.cluster import Cluster

ALICE, BOB, CHARLIE = (Keypair.dev(n) for n in ("alice", "bob", "charlie"))
NEWCOMER = Keypair.from_seed(blake2b256(b"e2e-governance/new-validator"))


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, NodeProcess, str]]:
    directory = Path(tmp_path_factory.mktemp("govnet"))
    cluster = Cluster(directory)
    ports = free_ports(1)
    home = directory / "newcomer"
    init_home(
        home,
        genesis_file=directory / "genesis.json",
        validator_key=NEWCOMER,
        config=NodeConfig(
            node=NodeSection(moniker="newcomer"),
            p2p=P2PSection(listen=f"127.0.0.1:{ports.p2p}"),
            rpc=RpcSection(listen=f"127.0.0.1:{ports.rpc}"),
            metrics=MetricsSection(listen=f"127.0.0.1:{ports.metrics}"),
        ),
        localnet=True,
        passphrase=None,
    )
    newcomer = NodeProcess(home)
    cluster.start()
    try:
        cluster.wait_height(2, timeout=90)
        yield cluster, newcomer, f"http://127.0.0.1:{ports.rpc}"
    finally:
        newcomer.stop()
        cluster.stop()


def _send(net: Cluster, key: Keypair, nonce: int, call: Call) -> bytes:
    rpc = net.clients[0]
    ext = Extrinsic.create(key, nonce, rpc.best_height() + 200, call, net.genesis_hash)
    return rpc.submit(ext.encode())


def _committed(net: Cluster, hashes: list[bytes]) -> list[dict[str, Any]]:
    rpc = net.clients[0]
    net.wait_for(f"{len(hashes)} extrinsics", lambda: all(rpc.receipt(h) for h in hashes), 30)
    receipts = [rpc.receipt(h) for h in hashes]
    assert all(r is not None and r["success"] for r in receipts), receipts
    return [r for r in receipts if r is not None]


def _signers(net: Cluster, height: int) -> set[str]:
    """Validators whose precommits are in the commit of block ``height`` (node 0's view)."""
    rpc = net.clients[0]
    block_hash = rpc.block_hash(height)
    assert block_hash is not None
    data = rpc.call("chain_getBlock", "0x" + block_hash.hex())
    commit = data["commit"]
    assert commit is not None, f"no commit stored for block {height}"
    return {s["validator"] for s in commit["signatures"]}


def _header(net: Cluster, height: int) -> dict[str, Any]:
    rpc = net.clients[0]
    header = rpc.get_header(rpc.block_hash(height))
    assert header is not None, f"no header at {height}"
    return header


def _gov(net: Cluster, method: str, **params: Any) -> Any:
    return net.clients[0].call_named(method, **params)


def test_a_validator_added_by_governance_signs_from_h_plus_2_and_a_removed_one_stops(
    net: tuple[Cluster, NodeProcess, str],
) -> None:
    cluster, newcomer, newcomer_rpc = net
    genesis = load_genesis(cluster.homes[0].parent / "genesis.json")
    keys = [v.public_key for v in genesis.validators]
    leaving = keys[3]
    rpc = cluster.clients[0]

    # G4: two proposals in one block-ish; both are voted on in the next round
    nonce_a = rpc.next_index(encode_address(ALICE.public))
    nonce_b = rpc.next_index(encode_address(BOB.public))
    add = Call(
        "governance",
        "propose",
        {
            "call": encode_call(
                "system", "add_validator", {"validator": NEWCOMER.public, "power": 10}
            )
        },
    )
    remove = Call(
        "governance",
        "propose",
        {"call": encode_call("system", "remove_validator", {"validator": leaving})},
    )
    _committed(cluster, [_send(cluster, ALICE, nonce_a, add), _send(cluster, BOB, nonce_b, remove)])
    proposals = {p["call"]["function"]: p for p in _gov(cluster, "gov_proposals")}
    add_id = proposals["add_validator"]["id"]
    remove_id = proposals["remove_validator"]["id"]
    voting_round = proposals["add_validator"]["round"]
    assert proposals["remove_validator"]["round"] == voting_round

    cluster.wait_for(
        f"voting round {voting_round}",
        lambda: _gov(cluster, "gov_round")["round"] >= voting_round,
        timeout=30,
    )
    ballots = []
    for key in (ALICE, BOB, CHARLIE):
        nonce = rpc.next_index(encode_address(key.public))
        for offset, pid in enumerate((add_id, remove_id)):
            call = Call("governance", "vote", {"proposal": pid, "votes": 3})
            ballots.append(_send(cluster, key, nonce + offset, call))
    _committed(cluster, ballots)
    voter = _gov(cluster, "gov_voter", round=voting_round, address=encode_address(ALICE.public))
    assert (voter["spent"], voter["left"]) == (18, 82)  # 3² on each of two proposals

    def enacted() -> bool:
        statuses = [
            _gov(cluster, "gov_proposal", proposal=p)["status"] for p in (add_id, remove_id)
        ]
        return statuses == ["enacted", "enacted"]

    cluster.wait_for("both proposals enacted", enacted, timeout=50)
    detail = _gov(cluster, "gov_proposal", proposal=add_id)
    height = detail["enacted_height"]
    assert detail["votes_for"] == 9 and detail["voters"] == 3
    assert _gov(cluster, "gov_proposal", proposal=remove_id)["enacted_height"] == height

    # G6: the set changes at H + 2, not before
    old_set = genesis.validator_set()
    new_set = ValidatorSet.of(
        [Validator(k, 10) for k in keys[:3]] + [Validator(NEWCOMER.public, 10)]
    )
    cluster.wait_height(height + 2, [0, 1, 2], timeout=30)
    headers = {h: _header(cluster, h) for h in (height + 1, height + 2)}
    assert headers[height + 1]["validatorsHash"] == "0x" + old_set.hash.hex()
    assert headers[height + 2]["validatorsHash"] == "0x" + new_set.hash.hex()
    assert headers[height + 1]["nextValidatorsHash"] == "0x" + new_set.hash.hex()

    # the removed validator stops; the newcomer starts, connects, syncs and signs
    cluster.nodes[3].kill()  # (a clean stop's exit code 0 would read as a crash to wait_for)
    newcomer.start()
    own = RpcClient(newcomer_rpc, timeout=5)
    newcomer_address = encode_address(NEWCOMER.public)
    leaving_address = encode_address(leaving)

    def newcomer_signed() -> bool:
        top = rpc.best_height()
        return any(newcomer_address in _signers(cluster, h) for h in range(top - 3, top + 1))

    try:
        try:
            cluster.wait_for("the new validator's precommits in a commit", newcomer_signed, 45)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- newcomer\n{newcomer.log_tail(30)}") from None
        top = rpc.best_height()
        for h in range(height - 3, height + 2):  # it could not sign before: not in the set
            assert newcomer_address not in _signers(cluster, h), f"signed block {h} < H + 2"
        for h in range(height + 2, top + 1):
            assert leaving_address not in _signers(cluster, h), f"removed one signed block {h}"
        synced = _height_of(own)
        assert synced is not None and synced >= height + 2
    finally:
        own.close()
    before = rpc.best_height()
    cluster.wait_height(before + 3, [0, 1, 2], timeout=30)  # the chain goes on without node 3
    cluster.assert_agreement(before, [0, 1, 2])


def _height_of(client: RpcClient) -> int | None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            return client.best_height()
        except (RpcConnectionError, RpcError, OSError):
            time.sleep(0.25)
    return None
