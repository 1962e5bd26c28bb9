"""Helpers for the replay and export tests: small signed chains, homes, files, tampering."""

from __future__ import annotations

import dataclasses
import gc
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from genesis.build import dump_genesis
from ledger import codec
from ledger.crypto import blake2b256
from ledger.types import BLOCK_LIMITS, Block, Commit, Header
from node.audit.export import MAGIC, RECORD_LIMITS
from node.audit.replay import BlockRecord
from node.cli.audit import export_command, import_command, replay_command
from node.testing.replay_fixture import ChainBuilder

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("replay")(replay_command)
app.command("export")(export_command)
app.command("import")(import_command)


def cli(*args: str | Path) -> Any:
    """Run ``credichain replay|export|import`` in-process; returns the click Result.

    replay and import set the node's collector thresholds (node/daemon/gc_policy.py)
    for their process: the test process gets its own back.
    """
    thresholds = gc.get_threshold()
    try:
        return CliRunner().invoke(app, [str(a) for a in args])
    finally:
        gc.set_threshold(*thresholds)


def fill(builder: ChainBuilder, blocks: int = 5, per_block: int = 6) -> None:
    """Blocks of transfers, one of them failing (more than the sender has)."""
    for index in range(blocks):
        extrinsics = builder.transfers(per_block)
        if index == 1:
            poor = builder.accounts[0]
            extrinsics.append(builder.transfer(poor, builder.accounts[1].public, 10**18))
        builder.add_block(extrinsics)


def records_of(builder: ChainBuilder) -> list[BlockRecord]:
    return [BlockRecord(b.block.header.height, b.block, b.commit) for b in builder.built]


def make_home(directory: Path, blocks: int = 5) -> ChainBuilder:
    """A stopped node's home (genesis.json and data/db) holding a built chain."""
    directory.mkdir(parents=True, exist_ok=True)
    builder = ChainBuilder(path=directory / "data" / "db")
    dump_genesis(builder.genesis, directory / "genesis.json")
    fill(builder, blocks)
    builder.close()
    return builder


def tree_digest(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with the hash of its content."""
    return {
        str(p.relative_to(directory)): blake2b256(p.read_bytes())
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------ export files


def read_payloads(path: Path) -> list[list[Any]]:
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    offset = len(MAGIC)
    payloads = []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        payload = data[offset + 4 : offset + 4 + length]
        payloads.append(codec.decode(payload, RECORD_LIMITS))
        offset += 4 + length + 32
    return payloads


def write_payloads(path: Path, payloads: list[list[Any]]) -> None:
    """Write records with correct checksums: a tamperer who knows the format."""
    out = bytearray(MAGIC)
    for payload in payloads:
        data = codec.encode(payload)
        out += struct.pack(">I", len(data)) + data + blake2b256(data)
    path.write_bytes(bytes(out))


def tamper(path: Path, change: Callable[[list[list[Any]]], None]) -> None:
    payloads = read_payloads(path)
    change(payloads)
    write_payloads(path, payloads)


def block_of(payload: list[Any]) -> Block:
    return Block.decode(payload[2], BLOCK_LIMITS)


def commit_of(payload: list[Any]) -> Commit:
    return Commit.from_wire(codec.decode(payload[3], BLOCK_LIMITS))


def reseal_last(
    builder: ChainBuilder,
    payloads: list[list[Any]],
    change_header: Callable[[Header], Header],
    change_block: Callable[[Block], Block] = lambda b: b,
) -> None:
    """Change the last block and have the validators (whose keys the test holds) sign it.

    This is what a byzantine supermajority can do; replay must still catch it.
    (The test chains keep their genesis set, and the builder's store may be closed.)
    """
    last = payloads[-2]
    block = change_block(block_of(last))
    block = dataclasses.replace(block, header=change_header(block.header))
    commit = builder.sign_commit(block, validators=builder.genesis.validator_set())
    last[2] = block.encode()
    last[3] = commit.encode()
    payloads[-1][2] = block.hash
