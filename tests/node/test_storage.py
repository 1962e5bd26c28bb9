"""``credichain node du | prune | compact`` over a real LevelDB home (node/daemon/storage.py).

A ``ChainBuilder`` writes a signed 4-validator chain of transfer blocks into
``HOME/data/db`` as a node would. Pruning keeps the newest state versions:
the head's state reads the same, older roots are gone, and a replay of the
home still verifies every block to the same state root (blocks are never
pruned). The store by kind needs the store's lock: a running node's is
refused with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from genesis.build import dump_genesis
from ledger.kv import LevelDBKV, StoreError
from ledger.trie import StateTrie
from node.audit.export import HomeSource
from node.audit.replay import Replayer
from node.cli.localnet import free_ports, prepare_localnet
from node.cli.main import mounted_app
from node.daemon.config import NodeConfig, StorageSection, load_config, render_config
from node.daemon.storage import (
    StorageCollector,
    compact,
    files_usage,
    prune_state,
    store_usage,
)
from node.testing.procs import NodeProcess
from node.testing.replay_fixture import ChainBuilder
from rpc.client import RpcClient, RpcConnectionError, RpcError

BLOCKS = 12
runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A home with a chain of BLOCKS blocks; returns it and the head's state root."""
    home = tmp_path_factory.mktemp("home")
    builder = ChainBuilder(path=home / "data" / "db")
    for _ in range(BLOCKS):
        builder.add_block(builder.transfers(5))
    root = builder.chain.state_root
    dump_genesis(builder.genesis, home / "genesis.json")
    builder.close()
    (home / "data" / "consensus.wal").write_bytes(b"\0" * 100)
    (home / "config.toml").write_text(render_config(NodeConfig()))
    return home, root


@pytest.fixture
def home(built: tuple[Path, bytes], tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(built[0], copy)
    return copy


def _state(db: Path, root: bytes) -> list[tuple[bytes, bytes]]:
    kv = LevelDBKV(db, create=False)
    try:
        return list(StateTrie(kv).reader(root).iterate(b""))
    finally:
        kv.close()


def test_du_sees_every_file_and_the_store_by_kind(home: Path) -> None:
    files = files_usage(home)
    assert set(files) == {"db", "consensus.wal"}
    assert files["db"] > 0 and files["consensus.wal"] >= 100
    usage = store_usage(home / "data" / "db")
    assert usage.height == BLOCKS
    assert usage.versions == BLOCKS + 1  # the genesis state, then one per block
    assert usage.kinds["blocks"].entries == BLOCKS + 1
    assert usage.kinds["commits"].entries == BLOCKS
    assert usage.kinds["receipts"].entries == 5 * BLOCKS
    assert usage.kinds["state trie nodes"].bytes > 0
    assert usage.total == sum(k.bytes for k in usage.kinds.values())
    assert 0 < usage.bytes_per_block < usage.total
    assert 0 < usage.bytes_per_state_version < usage.total


def test_du_of_a_running_node_gives_the_files_and_says_why_not_the_kinds(home: Path) -> None:
    db = home / "data" / "db"
    held = LevelDBKV(db, create=False)  # as a running node holds it
    try:
        with pytest.raises(StoreError, match="lock"):
            store_usage(db)
        result = runner.invoke(mounted_app(), ["node", "du", "--home", str(home)])
    finally:
        held.close()
    assert result.exit_code == 0, result.output
    assert "consensus.wal" in result.output
    assert "the node is running: stop it" in result.output


def test_prune_keeps_the_newest_states_and_replay_still_verifies(
    home: Path, built: tuple[Path, bytes]
) -> None:
    db = home / "data" / "db"
    head_root = built[1]
    before = _state(db, head_root)
    result = prune_state(db, 3)
    assert (result.versions_before, result.versions_dropped) == (BLOCKS + 1, BLOCKS - 2)
    assert result.nodes_deleted > 0
    assert _state(db, head_root) == before
    kv = LevelDBKV(db, create=False)
    try:
        trie = StateTrie(kv)
        assert [v for v, _ in trie.versions()] == [BLOCKS - 2, BLOCKS - 1, BLOCKS]
        assert kv.get(b"b/m") is not None  # the head: blocks are not pruned
    finally:
        kv.close()
    assert prune_state(db, 3).nodes_deleted == 0  # nothing more to drop
    source = HomeSource(home)
    try:
        replayer = Replayer(source.genesis, threads=1)
        replayer.check_genesis(source.genesis_hash)
        report = replayer.run(source.records())
        replayer.close()
    finally:
        source.close()
    assert report.blocks == BLOCKS and report.state_root == head_root


def test_prune_refuses_to_keep_nothing(home: Path) -> None:
    with pytest.raises(ValueError, match="keep must be an integer >= 1"):
        prune_state(home / "data" / "db", 0)


def test_the_cli_prunes_by_config_or_flag_and_compacts(home: Path) -> None:
    app = mounted_app()
    refused = runner.invoke(app, ["node", "prune", "--home", str(home)])
    assert refused.exit_code != 0
    assert "prune_keep_versions is 0 (an archive node keeps every state)" in refused.output
    config = NodeConfig(storage=StorageSection(prune_keep_versions=5))
    (home / "config.toml").write_text(render_config(config))
    pruned = runner.invoke(app, ["node", "prune", "--home", str(home)])
    assert pruned.exit_code == 0, pruned.output
    assert f"kept 5 of {BLOCKS + 1} state versions" in pruned.output
    assert "store compacted" in pruned.output
    again = runner.invoke(app, ["node", "prune", "--home", str(home), "--keep", "2"])
    assert "kept 2 of 5 state versions" in again.output, again.output
    bad = runner.invoke(app, ["node", "prune", "--home", str(home), "--keep", "0"])
    assert bad.exit_code != 0 and "--keep: keep must be an integer >= 1" in bad.output
    du = runner.invoke(app, ["node", "du", "--home", str(home), "--json"])
    assert du.exit_code == 0, du.output
    report = json.loads(du.output)
    assert report["store"]["state_versions"] == 2
    assert report["store"]["height"] == BLOCKS
    assert report["files_total"] == sum(report["files"].values())
    compacted = runner.invoke(app, ["node", "compact", "--home", str(home)])
    assert compacted.exit_code == 0 and "store compacted" in compacted.output


def test_compact_reports_the_store_on_disk_before_and_after(home: Path) -> None:
    before, after = compact(home / "data" / "db")
    assert before > 0 and after > 0
    assert after == files_usage(home)["db"]


def test_the_storage_gauge_reports_each_part_of_the_data_directory(home: Path) -> None:
    registry = CollectorRegistry()
    registry.register(StorageCollector(home))
    files = files_usage(home)
    for part, count in files.items():
        assert registry.get_sample_value("credichain_storage_bytes", {"part": part}) == count


def test_a_node_configured_to_prune_prunes_its_state_when_it_starts(tmp_path: Path) -> None:
    """A real one-validator localnet: blocks made, stopped, restarted with prune_keep_versions."""
    ports = free_ports(1)
    (home,) = prepare_localnet(tmp_path / "net", 1, ports)
    node = NodeProcess(home)
    client = RpcClient(f"http://127.0.0.1:{ports.rpc}", timeout=5)

    def run_until(height: int) -> None:
        node.start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(RpcConnectionError, RpcError, OSError):
                    if client.best_height() >= height:
                        return
                time.sleep(0.2)
            pytest.fail(f"height {height} not reached\n{node.log_tail()}")
        finally:
            node.stop()

    try:
        run_until(6)
        made = store_usage(home / "data" / "db")
        assert made.versions == made.height + 1 >= 7
        config = load_config(home / "config.toml")
        config.storage.prune_keep_versions = 3
        (home / "config.toml").write_text(render_config(config))
        run_until(made.height + 1)
    finally:
        client.close()
    assert "state pruned" in node.log_path.read_text()
    after = store_usage(home / "data" / "db")
    # Pruned to 3 at start, then one more version per block made since.
    assert after.versions == 3 + (after.height - made.height), (after.versions, after.height)
