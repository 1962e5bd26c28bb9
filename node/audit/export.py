"""The chain export file, and the block sources replay reads (a node home, a file).

Theory of operation
-------------------
An export file (docs/PROTOCOL.md, "Chain export file") is the 8-byte magic
``CCEXPRT1`` followed by records. Each record is

    length: u32 big-endian || payload (length bytes) || H(payload) (32 bytes)

and each payload is one canonical MessagePack array:

    ["credichain-export", 1, genesis_json: str, genesis_hash: bin32, height: uint]  (first)
    ["block", height: uint, block: bin, commit: bin]                               (1..height)
    ["end", height: uint, head_hash: bin32]                                         (last)

The checksum catches accidental damage at the record it happened in; it is
not a security measure (anyone can recompute it). What makes the file
trustworthy is replay itself: blocks, commits and signatures are all checked
against the genesis document, which the auditor must compare with their own.

``HomeSource`` reads a stopped node's home without touching it: its LevelDB
directory is copied to a temporary directory and the copy is opened, since
opening LevelDB in place writes to it (lock, log, compaction). A database
whose lock is held (the node is running) is refused.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

from genesis.build import GenesisError, load_genesis, parse_genesis
from genesis.schema import GenesisDoc
from ledger import codec
from ledger.blockstore import BlockStore, BlockStoreError
from ledger.codec import CodecError, DecodeLimits
from ledger.crypto import blake2b256
from ledger.kv import LevelDBKV
from ledger.types import BLOCK_LIMITS, Block, Commit
from node.audit.replay import BlockRecord, ReplayDivergence

MAGIC: Final = b"CCEXPRT1"
FORMAT: Final = "credichain-export"
FORMAT_VERSION: Final = 1
CHECKSUM_LEN: Final = 32
MAX_RECORD: Final = 48 << 20  # a block (16 MiB at most) and its commit, with room to spare
RECORD_LIMITS: Final = DecodeLimits(
    max_size=MAX_RECORD, max_depth=2, max_container_len=8, max_bytes_len=32 << 20
)
_LENGTH: Final = struct.Struct(">I")


class ExportFormatError(ValueError):
    """A file that is not a well-formed export (bad checksum, truncated, bad record)."""


class NotAnExportFile(ExportFormatError):
    """The file does not start with the export magic (a usage error, not damage)."""


# ---------------------------------------------------------------- writing


def genesis_json(doc: GenesisDoc) -> str:
    """The genesis document as the export carries it (the ``dump_genesis`` layout)."""
    return json.dumps(doc.to_json_dict(), indent=2) + "\n"


class ExportWriter:
    def __init__(self, out: BinaryIO, genesis: GenesisDoc, genesis_hash: bytes, height: int):
        self.out = out
        self.height = height
        self.written = 0
        out.write(MAGIC)
        self._record([FORMAT, FORMAT_VERSION, genesis_json(genesis), genesis_hash, height])

    def _record(self, payload: list[Any]) -> None:
        data = codec.encode(payload)
        self.out.write(_LENGTH.pack(len(data)) + data + blake2b256(data))

    def block(self, block: Block, commit: Commit) -> None:
        height = block.header.height
        if height != self.written + 1:
            raise ValueError(f"export: block {height} after block {self.written}")
        self._record(["block", height, block.encode(), commit.encode()])
        self.written = height

    def finish(self, head_hash: bytes) -> None:
        if self.written != self.height:
            raise ValueError(f"export: {self.written} blocks written, {self.height} announced")
        self._record(["end", self.height, head_hash])


# ---------------------------------------------------------------- reading


def _read_record(handle: BinaryIO, index: int) -> list[Any]:
    head = handle.read(_LENGTH.size)
    if len(head) != _LENGTH.size:
        raise ExportFormatError(f"record {index}: the file ends (truncated?)")
    (length,) = _LENGTH.unpack(head)
    if length > MAX_RECORD:
        raise ExportFormatError(f"record {index}: length {length} exceeds {MAX_RECORD}")
    data = handle.read(length)
    checksum = handle.read(CHECKSUM_LEN)
    if len(data) != length or len(checksum) != CHECKSUM_LEN:
        raise ExportFormatError(f"record {index}: the file ends inside it (truncated?)")
    if blake2b256(data) != checksum:
        raise ExportFormatError(
            f"record {index}: checksum mismatch: expected 0x{blake2b256(data).hex()}, "
            f"found 0x{checksum.hex()}"
        )
    try:
        payload = codec.decode(data, RECORD_LIMITS)
    except CodecError as exc:
        raise ExportFormatError(f"record {index}: not canonical MessagePack: {exc}") from exc
    if not isinstance(payload, list) or not payload:
        raise ExportFormatError(f"record {index}: not a non-empty array")
    return payload


class ExportReader:
    """An export file, opened: ``genesis``, ``genesis_hash``, ``height``, then ``records()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.handle: BinaryIO = path.open("rb")
        except OSError as exc:
            raise NotAnExportFile(f"{path}: cannot read: {exc.strerror or exc}") from exc
        try:
            self._read_header()
        except BaseException:
            self.handle.close()
            raise

    def _read_header(self) -> None:
        if self.handle.read(len(MAGIC)) != MAGIC:
            raise NotAnExportFile(f"{self.path}: not a credichain export file (bad magic)")
        payload = _read_record(self.handle, 0)
        if payload[0] != FORMAT or len(payload) != 5:
            raise ExportFormatError("record 0: not an export header")
        _, version, text, claimed, height = payload
        if version != FORMAT_VERSION:
            raise ExportFormatError(f"format version {version!r}, this tool reads {FORMAT_VERSION}")
        if not isinstance(text, str) or not isinstance(claimed, bytes) or len(claimed) != 32:
            raise ExportFormatError("record 0: genesis_json must be text, genesis_hash 32 bytes")
        if not isinstance(height, int) or height < 0:
            raise ExportFormatError("record 0: height must be an unsigned integer")
        try:
            self.genesis = parse_genesis(json.loads(text), f"{self.path} (genesis)")
        except json.JSONDecodeError as exc:
            raise ExportFormatError(f"record 0: genesis is not JSON: {exc}") from exc
        except GenesisError as exc:
            raise ExportFormatError(str(exc)) from exc
        self.genesis_text = text
        self.genesis_hash: bytes = claimed
        self.height: int = height

    def records(self) -> Iterator[BlockRecord]:
        head = self.genesis_hash
        for height in range(1, self.height + 1):
            payload = _read_record(self.handle, height)
            if payload[0] != "block" or len(payload) != 4:
                raise ReplayDivergence(height, "record kind", expected="block", found=payload[0])
            _, claimed, block_bytes, commit_bytes = payload
            if claimed != height:
                raise ReplayDivergence(height, "record height", expected=height, found=claimed)
            record = _decode_record(height, block_bytes, commit_bytes)
            head = record.block.hash
            yield record
        end = _read_record(self.handle, self.height + 1)
        if end[0] != "end" or len(end) != 3 or end[1] != self.height:
            raise ExportFormatError(f"record {self.height + 1}: expected the end record")
        if end[2] != head:
            raise ExportFormatError(
                f"end record: head hash expected 0x{head.hex()}, found {end[2]!r}"
            )
        if self.handle.read(1):
            raise ExportFormatError("data after the end record")

    def close(self) -> None:
        self.handle.close()


def _decode_record(height: int, block_bytes: Any, commit_bytes: Any) -> BlockRecord:
    if not isinstance(block_bytes, bytes) or not isinstance(commit_bytes, bytes):
        raise ReplayDivergence(height, "record", detail="block and commit must be bytes")
    try:
        block = Block.decode(block_bytes, BLOCK_LIMITS)
    except (CodecError, ValueError) as exc:
        raise ReplayDivergence(height, "block bytes", detail=f"do not decode: {exc}") from exc
    try:
        commit = Commit.from_wire(codec.decode(commit_bytes, BLOCK_LIMITS))
    except (CodecError, ValueError) as exc:
        raise ReplayDivergence(height, "commit bytes", detail=f"do not decode: {exc}") from exc
    return BlockRecord(height, block, commit)


# ---------------------------------------------------------------- a node home


class HomeError(ValueError):
    """A directory that is not a usable node home."""


def _refuse_if_locked(db: Path) -> None:
    """A running node holds LevelDB's lock (a POSIX record lock on ``LOCK``); a copy
    taken under it may be torn, so refuse. Testing the lock changes no file."""
    lock = db / "LOCK"
    if not lock.exists():
        return
    with lock.open("rb+") as handle:
        try:
            fcntl.lockf(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise HomeError(
                f"{db} is locked: the node is running; stop it first, or replay a copy"
            ) from exc
        fcntl.lockf(handle.fileno(), fcntl.LOCK_UN)


class HomeSource:
    """A stopped node's home, read from a temporary copy of its database."""

    def __init__(self, home: Path) -> None:
        genesis_path = home / "genesis.json"
        db = home / "data" / "db"
        if not home.is_dir():
            raise HomeError(f"{home}: no such directory")
        if not genesis_path.is_file():
            raise HomeError(f"{home}: no genesis.json (is this a node home?)")
        if not (db / "CURRENT").is_file():
            raise HomeError(f"{home}: no database at {db} (has the node run?)")
        try:
            self.genesis = load_genesis(genesis_path)
        except GenesisError as exc:
            raise HomeError(str(exc)) from exc
        _refuse_if_locked(db)
        self._tmp = Path(tempfile.mkdtemp(prefix="credichain-replay-"))
        try:
            copy = self._tmp / "db"
            shutil.copytree(db, copy, ignore=shutil.ignore_patterns("LOCK"))
            self.kv = LevelDBKV(copy, create=False)
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        self.blocks = BlockStore(self.kv)
        self.height = self.blocks.height() or 0
        stored = self.blocks.hash_at(0)
        if stored is None:
            self.close()
            raise HomeError(f"{home}: the database holds no genesis block")
        self.genesis_hash: bytes = stored

    def records(self) -> Iterator[BlockRecord]:
        for height in range(1, self.height + 1):
            try:
                block = self.blocks.block_by_height(height)
                commit = self.blocks.commit_at(height)
                receipts = self.blocks.receipts_at(height)
                events = self.blocks.events_at(height)
            except (CodecError, BlockStoreError, ValueError) as exc:
                raise ReplayDivergence(height, "stored block", detail=f"unreadable: {exc}") from exc
            if block is None:
                raise ReplayDivergence(height, "stored block", detail="missing")
            if commit is None:
                raise ReplayDivergence(height, "stored commit", detail="missing")
            if events is None:
                raise ReplayDivergence(height, "stored hook events", detail="missing")
            yield BlockRecord(height, block, commit, receipts, events)

    def close(self) -> None:
        self.kv.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def export_home(home: Path, out: Path) -> tuple[int, bytes]:
    """Write the chain of ``home`` to ``out``; returns (height, head hash)."""
    source = HomeSource(home)
    try:
        return export_records(
            out, source.genesis, source.genesis_hash, source.height, source.records()
        )
    finally:
        source.close()


def export_records(
    out: Path,
    genesis: GenesisDoc,
    genesis_hash: bytes,
    height: int,
    records: Iterator[BlockRecord],
) -> tuple[int, bytes]:
    """Write an export file atomically (a temporary name, then rename)."""
    partial = out.with_name(out.name + ".partial")
    head = genesis_hash
    with partial.open("wb") as handle:
        writer = ExportWriter(handle, genesis, genesis_hash, height)
        for record in records:
            writer.block(record.block, record.commit)
            head = record.block.hash
        writer.finish(head)
    partial.replace(out)
    return height, head


__all__ = [
    "MAGIC",
    "ExportFormatError",
    "ExportReader",
    "ExportWriter",
    "HomeError",
    "HomeSource",
    "NotAnExportFile",
    "export_home",
    "export_records",
]
