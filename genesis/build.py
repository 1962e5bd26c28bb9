"""Loading a genesis document and building block 0 and its state.

Block 0's header: height 0, ``timestamp_ms = genesis_time * 1000``, parent
and last-commit hashes of 32 zero bytes, the empty-list Merkle root for
extrinsics, evidence, receipts and events, ``state_root`` = the trie root of
the genesis state, ``validators_hash`` = ``next_validators_hash`` = the hash
of the genesis validator set, proposer 32 zero bytes. The genesis hash is
this header's hash: every extrinsic signs it (wire.md §4).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from genesis.schema import GenesisDoc
from ledger.kv import MemoryKV
from ledger.merkle import merkle_root
from ledger.trie import EMPTY_ROOT, StateTrie
from ledger.types import EMPTY_HASH, Block, Header
from pallets.construct import registry
from pallets.executive.genesis import genesis_state as runtime_genesis_state

EMPTY_LIST_ROOT: Final = merkle_root([])
MAX_GENESIS_BYTES: Final = 1 << 30


class GenesisError(ValueError):
    """A genesis document that cannot be used; the message names the field."""


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "document"
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


def parse_genesis(data: Any, source: str = "genesis") -> GenesisDoc:
    """Validate decoded JSON; ``GenesisError`` names each offending field."""
    hrp = data.get("address_prefix", "cc") if isinstance(data, dict) else "cc"
    try:
        return GenesisDoc.model_validate(data, context={"hrp": hrp})
    except ValidationError as exc:
        raise GenesisError(f"{source}: {_describe(exc)}") from exc


def load_genesis(path: str | Path) -> GenesisDoc:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_GENESIS_BYTES:
            raise GenesisError(f"{path}: {size} bytes is larger than a genesis file may be")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GenesisError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GenesisError(f"{path}: not valid JSON: {exc}") from exc
    return parse_genesis(data, str(path))


def dump_genesis(doc: GenesisDoc, path: str | Path) -> None:
    Path(path).write_text(json.dumps(doc.to_json_dict(), indent=2) + "\n", encoding="utf-8")


def genesis_state(doc: GenesisDoc) -> dict[bytes, bytes]:
    """Every (key, value) of the state at height 0, sorted by key."""
    return runtime_genesis_state(registry(), doc.to_config())


def genesis_header(doc: GenesisDoc, state_root: bytes) -> Header:
    validators_hash = doc.validator_set().hash
    return Header(
        height=0,
        timestamp_ms=doc.genesis_time * 1000,
        parent_hash=EMPTY_HASH,
        last_commit_hash=EMPTY_HASH,
        extrinsics_root=EMPTY_LIST_ROOT,
        evidence_root=EMPTY_LIST_ROOT,
        state_root=state_root,
        receipts_root=EMPTY_LIST_ROOT,
        events_root=EMPTY_LIST_ROOT,
        validators_hash=validators_hash,
        next_validators_hash=validators_hash,
        proposer=EMPTY_HASH,
    )


def build_genesis(doc: GenesisDoc, trie: StateTrie) -> tuple[Block, bytes]:
    """Commit the genesis state as trie version 0; return block 0 and its state root."""
    root = trie.commit(EMPTY_ROOT, genesis_state(doc), 0)
    return Block(genesis_header(doc, root), (), None, ()), root


def genesis_hash(doc: GenesisDoc) -> bytes:
    """Block 0's hash, computed on a throw-away in-memory trie."""
    block, _ = build_genesis(doc, StateTrie(MemoryKV()))
    return block.hash
