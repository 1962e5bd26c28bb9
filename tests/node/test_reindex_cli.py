"""``credichain node reindex --home DIR``: the history index rebuilt from the blocks."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ledger.kv import LevelDBKV, MemoryKV
from node.cli.node import app
from node.daemon.history import HistoryIndex
from node.testing.replay_fixture import ChainBuilder
from pallets.construct import registry


def _all(kv: LevelDBKV) -> dict[bytes, bytes]:
    return dict(kv.iterate(b""))


def test_reindex_rebuilds_the_index_from_the_blocks_and_replaces_a_damaged_one(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    builder = ChainBuilder(validators=1, accounts=3, path=home / "data" / "db")
    for _ in range(3):
        builder.add_block(builder.transfers(4, amount=5000))
    expected = HistoryIndex(MemoryKV(), registry(), builder.chain.genesis_hash)
    expected.catch_up(builder.chain.blocks)
    height = builder.chain.height
    builder.close()
    damaged = LevelDBKV(home / "data" / "history")
    damaged.put(b"a/" + b"\x00" * 40, b"garbage")
    damaged.close()

    result = CliRunner().invoke(app, ["reindex", "--home", str(home)])

    assert result.exit_code == 0, result.output
    assert f"history index rebuilt from {height} blocks (height {height})" in result.output
    rebuilt = LevelDBKV(home / "data" / "history")
    try:
        assert isinstance(expected.kv, MemoryKV)
        assert _all(rebuilt) == expected.kv.data
    finally:
        rebuilt.close()


def test_reindex_refuses_a_directory_without_a_chain(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["reindex", "--home", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "no chain store at" in result.output
