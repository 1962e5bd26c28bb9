"""Replay: a whole chain re-executed and verified, from a store, records, or a real localnet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import plyvel
import pytest

from genesis.build import load_genesis
from ledger.crypto import Keypair
from ledger.kv import LevelDBKV
from ledger.types import Receipt
from node.audit.replay import BlockRecord, ReplayDivergence, Replayer
from node.daemon.chain import Chain
from node.testing.replay_fixture import ChainBuilder, validator_key
from pallets import construct
from pallets.balances.storage import TOTAL_ISSUANCE
from tests.e2e.cluster import Cluster
from tests.node.replay_helpers import cli, fill, make_home, records_of, tree_digest
from tests.pallets import probe


def test_replay_verifies_every_block_and_reaches_the_same_state() -> None:
    builder = ChainBuilder()
    fill(builder, blocks=6)
    seen: list[int] = []
    for threads in (1, 2):
        replayer = Replayer(builder.genesis, threads=threads, on_block=seen.append)
        report = replayer.run(records_of(builder))
        assert report.state_root == builder.chain.state_root
        assert report.head_hash == builder.chain.head.hash
        assert report.blocks == 6
        assert report.extrinsics == 6 * 6 + 1
        assert report.failed_extrinsics == 1
        assert report.validator_changes == 0
        # every extrinsic and both commits of each block (3 precommits each, none in block 1)
        assert report.signatures == 37 + 6 * 3 + 5 * 3
        assert report.summary is not None
        state = builder.chain.runtime.state(builder.chain.state_root)
        assert report.summary.total_supply == TOTAL_ISSUANCE.get(state)
        assert report.summary.accounts == len(builder.genesis.balances) + 1  # + commons pool
        replayer.close()
    assert seen == [1, 2, 3, 4, 5, 6] * 2


def test_validator_set_changes_are_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A set scheduled in block 2 signs from block 4 on; headers commit to it."""
    monkeypatch.setattr(construct, "PALLETS", (*construct.PALLETS, probe.PALLET))
    newcomer = validator_key(9)
    builder = ChainBuilder(extra_keys=[newcomer])
    builder.add_block(builder.transfers(2))
    keys = sorted([validator_key(0).public, validator_key(1).public, newcomer.public])
    submitter = builder.accounts[0]
    builder.add_block([builder.sign(submitter, "probe", "set_validators", {"keys": keys})])
    for _ in range(3):
        builder.add_block(builder.transfers(2))
    assert newcomer.public in {s.validator for s in builder.built[-1].commit.signatures}
    replayer = Replayer(builder.genesis)
    report = replayer.run(records_of(builder))
    assert report.validator_changes == 1
    assert report.state_root == builder.chain.state_root
    assert report.summary is not None and report.summary.validators == 3
    # a commit at height 4 signed by the old set (whose keys the builder holds) is refused
    old_set_commit = records_of(builder)
    fresh = Replayer(builder.genesis)
    forged = builder.sign_commit(builder.built[3].block, validators=builder.genesis.validator_set())
    old_set_commit[3] = BlockRecord(4, builder.built[3].block, forged)
    with pytest.raises(ReplayDivergence, match=r"height 4: commit .*not in the validator set"):
        fresh.run(old_set_commit)


def test_replay_of_a_home_leaves_it_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    builder = make_home(home)
    before = tree_digest(home)
    result = cli("replay", "--home", home, "--threads", "2")
    assert result.exit_code == 0, result.output
    assert "blocks             5" in result.stdout
    assert f"0x{builder.chain.state_root.hex()}" in result.stdout
    assert "validator changes  0" in result.stdout
    assert tree_digest(home) == before


def test_a_changed_stored_receipt_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home)
    kv = LevelDBKV(home / "data" / "db", create=False)
    chain_blocks = Chain(kv, load_genesis(home / "genesis.json")).blocks
    receipt = chain_blocks.receipts_at(3)[0]
    forged = Receipt(receipt.extrinsic_hash, not receipt.success, receipt.error, receipt.events)
    key = b"b/r" + (3).to_bytes(8, "big") + (0).to_bytes(4, "big")
    assert kv.get(key) == receipt.encode()
    kv.put(key, forged.encode())
    kv.close()
    result = cli("replay", "--home", home)
    assert result.exit_code == 1
    assert "height 3: stored receipt 0: expected 0x" in result.stderr


def test_usage_errors_exit_with_2(tmp_path: Path) -> None:
    assert cli("replay").exit_code == 2
    assert cli("replay", "--home", tmp_path, "--file", tmp_path / "x").exit_code == 2
    missing = cli("replay", "--home", tmp_path / "nowhere")
    assert missing.exit_code == 2 and "no such directory" in missing.stderr
    no_db = tmp_path / "empty"
    no_db.mkdir()
    assert "no genesis.json" in cli("replay", "--home", no_db).stderr
    assert cli("replay", "--file", tmp_path / "absent.cce").exit_code == 2
    assert "needs --genesis" in cli("replay", "--rpc", "http://127.0.0.1:9").stderr


def test_replay_of_a_real_stopped_localnet(tmp_path: Path) -> None:
    """Four real validator processes make blocks with transfers; node0's home replays."""
    cluster = Cluster(tmp_path / "net", validators=4)
    try:
        cluster.start()
        cluster.wait_height(2)
        alice, bob = Keypair.dev("alice"), Keypair.dev("bob")
        sent = [cluster.transfer(0, alice, bob.public, 1000 + i, nonce=i) for i in range(5)]
        cluster.wait_for("the transfers", lambda: all(cluster.receipt_everywhere(h) for h in sent))
        height = cluster.height(0) or 0
        replay_rpc = cli(
            "replay",
            "--rpc",
            f"http://127.0.0.1:{cluster.ports.rpc}",
            "--genesis",
            cluster.homes[0] / "genesis.json",
        )
    finally:
        cluster.stop()
    assert replay_rpc.exit_code == 0, replay_rpc.output
    result = cli("replay", "--home", cluster.homes[0])
    assert result.exit_code == 0, result.output
    blocks = int(result.stdout.split("blocks")[1].split()[0])
    assert blocks >= height
    extrinsics = int(result.stdout.split("extrinsics")[1].split()[0])
    assert extrinsics == 5
    plyvel.DB(str(cluster.homes[0] / "data" / "db")).close()  # not left locked or damaged


def test_the_report_counts_funds_read_through_the_pallets_storage() -> None:
    """A fund created on chain shows in the replay report (funds pallet present)."""
    builder = ChainBuilder()
    founder = builder.accounts[0]
    create = builder.sign(
        founder,
        "funds",
        "create",
        {
            "name": "Tool library",
            "scope": "shared tools",
            "bioregion": None,
            "policy_hash": bytes(32),
            "conduct_hash": bytes(32),
            "contribution": 1000,
            "rate_bps": 300,
            "purposes": ["creative_project"],
        },
    )
    builder.add_block([create, *builder.transfers(2)])
    builder.add_block(builder.transfers(2))
    replayer = Replayer(builder.genesis)
    report = replayer.run(records_of(builder))
    assert report.failed_extrinsics == 0
    assert report.summary is not None
    assert report.summary.counts["funds"] == 1
    assert report.summary.counts["funders"] == 1
    assert report.summary.counts["loans"] == 0


def test_a_running_nodes_database_is_refused_and_export_does_not_overwrite(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    make_home(home, blocks=1)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import plyvel, sys; db = plyvel.DB(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(home / "data" / "db"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = cli("replay", "--home", home)
        assert result.exit_code == 2 and "the node is running" in result.stderr
    finally:
        holder.communicate("", timeout=10)
    out = tmp_path / "chain.cce"
    out.write_bytes(b"keep me")
    refused = cli("export", "--home", home, "--out", out)
    assert refused.exit_code == 2 and "exists" in refused.stderr
    assert out.read_bytes() == b"keep me"
    assert cli("export", "--home", home, "--out", out, "--force").exit_code == 0
    assert cli("replay", "--file", out).exit_code == 0
