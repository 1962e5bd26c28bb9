"""Export, import, and every kind of tampering named at its height."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genesis.build import dump_genesis, load_genesis
from ledger.kv import LevelDBKV
from ledger.types import (
    Block,
    Header,
    Validator,
    ValidatorSet,
    extrinsics_root,
)
from node.daemon.chain import Chain
from node.testing.replay_fixture import ChainBuilder, validator_key
from tests.node.replay_helpers import (
    block_of,
    cli,
    commit_of,
    make_home,
    read_payloads,
    reseal_last,
    tamper,
    tree_digest,
    write_payloads,
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[ChainBuilder, Path, Path]:
    """A home with 5 blocks and its export file (shared: tests copy the file to change it)."""
    base = tmp_path_factory.mktemp("export")
    home = base / "home"
    builder = make_home(home)
    out = base / "chain.cce"
    result = cli("export", "--home", home, "--out", out)
    assert result.exit_code == 0, result.output
    assert "exported 5 blocks" in result.stdout
    return builder, home, out


def copy_of(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.cce"
    target.write_bytes(source.read_bytes())
    return target


def test_export_import_replay_reach_the_same_state_root(
    exported: tuple[ChainBuilder, Path, Path], tmp_path: Path
) -> None:
    builder, home, out = exported
    root = f"0x{builder.chain.state_root.hex()}"
    replayed = cli("replay", "--file", out, "--genesis", home / "genesis.json")
    assert replayed.exit_code == 0, replayed.output
    assert f"state root         {root}" in replayed.stdout
    target = tmp_path / "auditor"
    target.mkdir()
    dump_genesis(builder.genesis, target / "genesis.json")
    imported = cli("import", out, "--home", target, "--threads", "1")
    assert imported.exit_code == 0, imported.output
    assert f"state root         {root}" in imported.stdout
    kv = LevelDBKV(target / "data" / "db", create=False)
    chain = Chain(kv, load_genesis(target / "genesis.json"))
    assert (chain.height, chain.state_root) == (5, builder.chain.state_root)
    assert chain.blocks.receipts_at(2) != []
    chain.close()
    from_import = cli("replay", "--home", target)
    assert from_import.exit_code == 0 and f"state root         {root}" in from_import.stdout
    again = cli("import", out, "--home", target)
    assert again.exit_code == 2 and "exists" in again.stderr


def test_the_file_layout_is_as_documented(exported: tuple[ChainBuilder, Path, Path]) -> None:
    builder, _, out = exported
    payloads = read_payloads(out)
    assert payloads[0][:2] == ["credichain-export", 1]
    assert payloads[0][3] == builder.genesis_hash and payloads[0][4] == 5
    assert [p[:2] for p in payloads[1:-1]] == [["block", h] for h in range(1, 6)]
    assert block_of(payloads[3]) == builder.built[2].block
    assert commit_of(payloads[3]) == builder.built[2].commit
    assert payloads[-1] == ["end", 5, builder.chain.head.hash]


def test_import_refuses_a_file_of_another_genesis(
    exported: tuple[ChainBuilder, Path, Path], tmp_path: Path
) -> None:
    builder, _, out = exported
    (tmp_path / "other").mkdir()
    data = builder.genesis.to_json_dict()
    data["genesis_time"] += 1
    (tmp_path / "other" / "genesis.json").write_text(json.dumps(data))
    result = cli("import", out, "--home", tmp_path / "other")
    assert result.exit_code == 1
    assert "from another genesis" in result.stderr
    assert not (tmp_path / "other" / "data" / "db").exists()


def _flip_extrinsic_byte(payloads: list[list[Any]]) -> None:
    block = block_of(payloads[3])
    first = bytearray(block.extrinsics[0])
    first[-70] ^= 1  # inside the call's arguments
    changed = dataclasses.replace(block, extrinsics=(bytes(first), *block.extrinsics[1:]))
    payloads[3][2] = changed.encode()


def _drop_commit_signature(payloads: list[list[Any]]) -> None:
    commit = commit_of(payloads[2])
    shorter = dataclasses.replace(commit, signatures=commit.signatures[:-1])
    payloads[2][3] = shorter.encode()


def _forge_commit_signature(payloads: list[list[Any]]) -> None:
    commit = commit_of(payloads[4])
    first = commit.signatures[0]
    forged = dataclasses.replace(first, signature=bytes(64 - 1) + b"\x01")
    payloads[4][3] = dataclasses.replace(
        commit, signatures=(forged, *commit.signatures[1:])
    ).encode()


def _swap_blocks(payloads: list[list[Any]]) -> None:
    """Blocks 2 and 3 change places; the record heights are left in order."""
    payloads[2][2:], payloads[3][2:] = payloads[3][2:], payloads[2][2:]


def _forge_extrinsic_signature(builder: ChainBuilder) -> Callable[[list[list[Any]]], None]:
    def change_block(block: Block) -> Block:
        raw = bytearray(block.extrinsics[0])
        raw[-1] ^= 1  # the last byte of the signature
        extrinsics = (bytes(raw), *block.extrinsics[1:])
        header = dataclasses.replace(block.header, extrinsics_root=extrinsics_root(extrinsics))
        return Block(header, extrinsics, block.last_commit, block.evidence)

    return lambda payloads: reseal_last(builder, payloads, lambda h: h, change_block)


def _wrong_state_root(builder: ChainBuilder) -> Callable[[list[list[Any]]], None]:
    def change(header: Header) -> Header:
        return dataclasses.replace(header, state_root=bytes(32))

    return lambda payloads: reseal_last(builder, payloads, change)


def _changed_validator_set(builder: ChainBuilder) -> Callable[[list[list[Any]]], None]:
    takeover = ValidatorSet.of([Validator(validator_key(7).public, 100)])

    def change(header: Header) -> Header:
        return dataclasses.replace(header, next_validators_hash=takeover.hash)

    return lambda payloads: reseal_last(builder, payloads, change)


def _damage_without_checksum(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


CASES: list[tuple[str, str]] = [
    ("extrinsic_byte", r"height 3: extrinsics_root: expected 0x[0-9a-f]{64}, found 0x[0-9a-f]{64}"),
    ("commit_signature_removed", r"height 2: commit \(signed power 20 is not more than 2/3"),
    ("commit_signature_forged", r"height 4: commit \(bad precommit signature from validator"),
    ("blocks_swapped", r"height 2: block height: expected 2, found 3"),
    ("extrinsic_signature_forged", r"height 5: extrinsic 0 signature \(invalid for signer 0x"),
    ("state_root", r"height 5: execution \(state_root is 0x0{64}, execution gives 0x[0-9a-f]{64}"),
    ("validator_set", r"height 5: next_validators_hash: expected 0x[0-9a-f]{64}, found 0x"),
    ("checksum", r"in the export file: record \d+: checksum mismatch: expected 0x"),
]


@pytest.mark.parametrize(("kind", "message"), CASES, ids=[c[0] for c in CASES])
def test_every_kind_of_tampering_is_detected_and_named(
    exported: tuple[ChainBuilder, Path, Path], tmp_path: Path, kind: str, message: str
) -> None:
    builder, _, out = exported
    path = copy_of(out, tmp_path)
    changes: dict[str, Callable[[list[list[Any]]], None]] = {
        "extrinsic_byte": _flip_extrinsic_byte,
        "commit_signature_removed": _drop_commit_signature,
        "commit_signature_forged": _forge_commit_signature,
        "blocks_swapped": _swap_blocks,
        "extrinsic_signature_forged": _forge_extrinsic_signature(builder),
        "state_root": _wrong_state_root(builder),
        "validator_set": _changed_validator_set(builder),
    }
    if kind == "checksum":
        _damage_without_checksum(path)
    else:
        tamper(path, changes[kind])
    result = cli("replay", "--file", path)
    assert result.exit_code == 1, result.output
    assert result.stderr.lstrip().startswith("DIVERGENCE ")
    assert re.search(message, result.stderr), result.stderr
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    dump_genesis(builder.genesis, auditor / "genesis.json")
    before = tree_digest(auditor)
    imported = cli("import", path, "--home", auditor)
    assert imported.exit_code == 1
    assert tree_digest(auditor) == before  # a failed import leaves the home as it was


def test_a_truncated_file_is_refused(
    exported: tuple[ChainBuilder, Path, Path], tmp_path: Path
) -> None:
    _, _, out = exported
    path = copy_of(out, tmp_path)
    path.write_bytes(out.read_bytes()[:-40])
    result = cli("replay", "--file", path)
    assert result.exit_code == 1 and "truncated" in result.stderr
    not_export = tmp_path / "genesis.json"
    not_export.write_text("{}")
    wrong = cli("replay", "--file", not_export)
    assert wrong.exit_code == 2 and "bad magic" in wrong.stderr


def test_a_file_whose_genesis_differs_from_the_trusted_one_is_refused(
    exported: tuple[ChainBuilder, Path, Path], tmp_path: Path
) -> None:
    builder, _, out = exported
    data = builder.genesis.to_json_dict()
    data["genesis_time"] += 1
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps(data))
    result = cli("replay", "--file", out, "--genesis", trusted)
    assert result.exit_code == 1 and "differs from the one given" in result.stderr
    lying = copy_of(out, tmp_path)

    def claim_other_hash(payloads: list[list[Any]]) -> None:
        payloads[0][3] = bytes(32)

    tamper(lying, claim_other_hash)
    result = cli("replay", "--file", lying)
    assert result.exit_code == 1 and "height 0: genesis hash: expected 0x" in result.stderr


def test_the_first_divergence_is_reported_even_when_a_later_record_is_damaged(
    exported: tuple[ChainBuilder, Path, Path], tmp_path: Path
) -> None:
    _, _, out = exported
    path = copy_of(out, tmp_path)

    def two_problems(payloads: list[list[Any]]) -> None:
        _flip_extrinsic_byte(payloads)  # height 3
        payloads[4][2] = b"\x93not a block"  # height 4 does not even decode

    tamper(path, two_problems)
    result = cli("replay", "--file", path)
    assert result.exit_code == 1
    assert "height 3: extrinsics_root" in result.stderr
    payloads = read_payloads(path)
    payloads[3] = read_payloads(out)[3]
    write_payloads(path, payloads)
    result = cli("replay", "--file", path)
    assert result.exit_code == 1
    assert "height 4: block bytes (do not decode" in result.stderr
