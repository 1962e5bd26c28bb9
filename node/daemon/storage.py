"""What takes the space in a node's home; state pruning; LevelDB compaction.

Theory of operation
-------------------
``credichain node du | prune | compact`` (node/cli/node.py) are thin over
this module.

* ``files_usage(home)``: the bytes each entry of ``HOME/data`` takes on disk
  (allocated blocks, as ``du``): the LevelDB store, the consensus WAL, the
  signer state, and whatever else lives there (indexes, documents). It reads
  file sizes only, so it works while the node runs.
* ``store_usage(db)``: the store's contents by kind, from one pass over every
  key: blocks, headers, commits, receipts, block events, the extrinsic and
  height indexes, state trie nodes, state versions (one root per committed
  block), validator sets. Bytes are key + value as stored, before LevelDB's
  compression (the on-disk total is ``files_usage``'s). The pass needs the
  store's lock: the node must be stopped (``StoreError`` otherwise).
* ``prune_state(db, keep)``: the trie's nodes are content-addressed and shared
  between versions (a block writes only the nodes on the paths it changed),
  with no reference counts; ``ledger.trie.StateTrie.prune`` marks every node
  reachable from the ``keep`` newest roots and deletes the rest, then the
  dropped versions. Nothing else reads old state: validator sets, blocks,
  receipts and events are stored apart from the trie, the node reads only
  its head's state, and RPC refuses a pruned state with a clear error
  (rpc/registry.py). Replay and export need only the blocks. The pass runs
  on a stopped node (one pass over every stored node, and no block may be
  staged meanwhile).
* ``compact(db)``: LevelDB's full-range compaction, which is when deleted
  entries give their space back.
* ``StorageCollector(home)``: the gauge ``credichain_storage_bytes{part}``
  (one sample per entry of ``HOME/data``), read from file sizes at scrape
  time on the scrape's thread: it shares no state with the node's loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ledger.blockstore import BlockStore
from ledger.kv import LevelDBKV
from ledger.trie import StateTrie

__all__ = [
    "KINDS",
    "KindUsage",
    "StorageCollector",
    "StoreUsage",
    "compact",
    "files_usage",
    "prune_state",
    "store_usage",
]

# Key prefixes of the store, longest match first: (prefix, kind).
KINDS: Final[tuple[tuple[bytes, str], ...]] = (
    (b"b/b", "blocks"),
    (b"b/H", "headers"),
    (b"b/c", "commits"),
    (b"b/r", "receipts"),
    (b"b/e", "block events"),
    (b"b/x", "extrinsic index"),
    (b"b/h", "height index"),
    (b"t/n", "state trie nodes"),
    (b"t/v", "state versions"),
    (b"n/vs/", "validator sets"),
)
OTHER: Final = "other"


@dataclass(slots=True)
class KindUsage:
    entries: int = 0
    bytes: int = 0


@dataclass(slots=True)
class StoreUsage:
    """The store's contents by kind (``KINDS``), and what the per-block figures need."""

    kinds: dict[str, KindUsage] = field(default_factory=dict)
    height: int = 0
    versions: int = 0

    @property
    def total(self) -> int:
        return sum(k.bytes for k in self.kinds.values())

    def of(self, kind: str) -> int:
        usage = self.kinds.get(kind)
        return 0 if usage is None else usage.bytes

    @property
    def bytes_per_block(self) -> int:
        """Blocks, headers, commits, receipts, events and their indexes, per height."""
        chain_kinds = [name for prefix, name in KINDS if prefix.startswith(b"b/")]
        return sum(self.of(k) for k in chain_kinds) // max(1, self.height + 1)

    @property
    def bytes_per_state_version(self) -> int:
        """State trie nodes and roots per version kept (the genesis state included)."""
        state = self.of("state trie nodes") + self.of("state versions")
        return state // max(1, self.versions)


def _allocated(path: Path) -> int:
    if path.is_file():
        return path.stat().st_blocks * 512
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def files_usage(home: Path) -> dict[str, int]:
    """Bytes on disk of each entry of ``home/data`` (sorted by name); works while running."""
    data = home / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: no such directory (has the node run?)")
    return {entry.name: _allocated(entry) for entry in sorted(data.iterdir())}


class StorageCollector(Collector):
    """``credichain_storage_bytes{part}``: bytes on disk of each entry of ``HOME/data``."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def describe(self) -> list[Metric]:
        return []  # the registry then does not collect at registration

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "credichain_storage_bytes",
            "Bytes on disk of each part of HOME/data (LevelDB store, consensus WAL, indexes)",
            labels=["part"],
        )
        try:
            usage = files_usage(self.home)
        except OSError:  # a file vanished mid-walk (LevelDB compaction): skip this scrape
            return
        for name, count in usage.items():
            family.add_metric([name], count)
        yield family


def _kind_of(key: bytes) -> str:
    for prefix, kind in KINDS:
        if key.startswith(prefix):
            return kind
    return OTHER


def store_usage(db: Path) -> StoreUsage:
    """One pass over every key of the (stopped) store at ``db``; ``StoreError`` if in use."""
    kv = LevelDBKV(db, create=False)
    try:
        usage = StoreUsage({kind: KindUsage() for _, kind in KINDS})
        for key, value in kv.iterate(b""):
            kind = usage.kinds.setdefault(_kind_of(key), KindUsage())
            kind.entries += 1
            kind.bytes += len(key) + len(value)
        usage.versions = usage.kinds["state versions"].entries
        usage.height = BlockStore(kv).height() or 0
        return usage
    finally:
        kv.close()


@dataclass(frozen=True, slots=True)
class PruneResult:
    versions_before: int
    versions_dropped: int
    nodes_deleted: int


def prune_state(db: Path, keep: int) -> PruneResult:
    """Keep the ``keep`` newest state versions of the (stopped) store at ``db``."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be an integer >= 1 (the head's state), got {keep!r}")
    kv = LevelDBKV(db, create=False)
    try:
        trie = StateTrie(kv)
        before = len(trie.versions())
        deleted = trie.prune(keep)
        return PruneResult(before, max(0, before - keep), deleted)
    finally:
        kv.close()


def compact(db: Path) -> tuple[int, int]:
    """Compact the (stopped) store at ``db``; its bytes on disk before and after."""
    before = _allocated(db)
    kv = LevelDBKV(db, create=False)
    try:
        kv.compact()
    finally:
        kv.close()
    return before, _allocated(db)
