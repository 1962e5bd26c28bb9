"""The document store beside the chain: texts and files of credit requests (F10).

Theory of operation
-------------------
A credit request names its free texts (what it is for, how it will be
repaid, why the borrowers can be trusted) and its documents by the
blake2b-256 hashes of their contents; the state never holds the contents.
Each node keeps the contents here, under ``HOME/data/documents``:

* ``<first 2 hex>/<64 hex>``: a document, its name the hash of its bytes
  (content-addressed: ``put`` computes the hash, nothing else names a
  file). Written to a temporary file, fsynced and renamed: a crash leaves
  the old state or the whole document, never a torn one (and a temporary
  file, deleted when the store opens).
* ``purged/<64 hex>``: the operator purged this document from this node
  (``credichain node purge-document``); it is refused from then on.
* ``pending/<64 hex>``: a document put over RPC (or gossiped ahead of the
  block) that no committed request names yet.

Why documents wait in ``pending/``: anyone may call ``documents_put``, for
free. If a put went straight into the store and were gossiped, an outsider
could fill every validator's store (and their disks, up to the bounds) at
no cost and lock out the texts of real requests. So a put only holds the
document on the node it was sent to, in a bounded area
(``MAX_PENDING_DOCUMENTS``, ``MAX_PENDING_BYTES``; the oldest is evicted to
make room). When a committed block submits or amends a request naming it
(a signed call whose fee someone paid), the node moves it into the store
(``promote``) and gossips it; nodes that lack it then take it from a peer
(``admit``) or ask their peers for it by hash. The store itself grows only
with what requests on the chain name.

A document is at most ``MAX_DOCUMENT_BYTES``; the store holds at most
``MAX_DOCUMENTS`` documents and ``MAX_STORE_BYTES`` bytes (a full store
refuses new ones rather than fill the disk). ``lookup`` answers
``available`` with the bytes (from the store or pending), ``redacted``
(purged here by the operator, or network-wide by governance: ``is_purged``
reads ``credit/purged/<hash>`` in the state at the node's head) or
``unknown``. A document governance purged is deleted when the purge's
block is committed (``forget``), at the latest when it is next looked up,
and at start (``sweep``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from ledger.crypto import HASH_LEN, blake2b256
from p2p.messages import MAX_DOCUMENT_BYTES as MESSAGE_MAX_DOCUMENT_BYTES

MAX_DOCUMENT_BYTES: Final = MESSAGE_MAX_DOCUMENT_BYTES
MAX_DOCUMENTS: Final = 100_000
MAX_STORE_BYTES: Final = 1 << 30
PURGED_DIR: Final = "purged"
PENDING_DIR: Final = "pending"
MAX_PENDING_DOCUMENTS: Final = 1024
MAX_PENDING_BYTES: Final = 64 << 20

Status = Literal["available", "redacted", "unknown"]


class DocumentError(ValueError):
    """A document the store refuses: too large, purged, or the store is full."""


@dataclass(frozen=True, slots=True)
class Lookup:
    hash: bytes
    status: Status
    content: bytes | None = None
    # "operator" (purged on this node) or "governance" (network-wide), when redacted
    purged_by: str | None = None


def document_hash(content: bytes) -> bytes:
    """The name of a document: the blake2b-256 hash of its bytes."""
    return blake2b256(content)


def check_hash(value: bytes) -> bytes:
    if len(value) != HASH_LEN:
        raise DocumentError(f"a document hash is {HASH_LEN} bytes, got {len(value)}")
    return value


class DocumentStore:
    """Content-addressed files under ``root``; ``is_purged(hash)`` asks the chain."""

    def __init__(self, root: Path, is_purged: Callable[[bytes], bool]) -> None:
        self.root = root
        self.is_purged = is_purged
        (root / PURGED_DIR).mkdir(parents=True, exist_ok=True)
        (root / PENDING_DIR).mkdir(exist_ok=True)
        for leftover in [*root.glob("??/.tmp-*"), *root.glob(f"{PENDING_DIR}/.tmp-*")]:
            leftover.unlink(missing_ok=True)  # a put cut short by a crash
        self.count = 0
        self.bytes_used = 0
        for path in self._files():
            self.count += 1
            self.bytes_used += path.stat().st_size
        # Pending documents, oldest first, with their sizes: the eviction order
        # (in memory; after a restart, by the files' modification times).
        self._pending: dict[bytes, int] = {}
        found = [(p.stat(), p) for p in self._pending_files()]
        for stat, path in sorted(found, key=lambda item: (item[0].st_mtime_ns, item[1].name)):
            self._pending[bytes.fromhex(path.name)] = stat.st_size

    def _path(self, digest: bytes) -> Path:
        name = digest.hex()
        return self.root / name[:2] / name

    def _pending_path(self, digest: bytes) -> Path:
        return self.root / PENDING_DIR / digest.hex()

    def _tombstone(self, digest: bytes) -> Path:
        return self.root / PURGED_DIR / digest.hex()

    def _files(self) -> Iterator[Path]:
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                yield from (p for p in sorted(folder.iterdir()) if len(p.name) == 2 * HASH_LEN)

    def _pending_files(self) -> list[Path]:
        folder = self.root / PENDING_DIR
        return sorted(p for p in folder.iterdir() if len(p.name) == 2 * HASH_LEN)

    # ------------------------------------------------------------ reading

    def has(self, digest: bytes) -> bool:
        """Whether the store keeps it for good (not only pending)."""
        return self._path(check_hash(digest)).is_file()

    def purged_here(self, digest: bytes) -> bool:
        return self._tombstone(check_hash(digest)).exists()

    def lookup(self, digest: bytes) -> Lookup:
        """``available`` with the bytes, ``redacted`` after a purge, or ``unknown``."""
        check_hash(digest)
        if self.is_purged(digest):
            self.forget(digest)
            return Lookup(digest, "redacted", purged_by="governance")
        if self.purged_here(digest):
            return Lookup(digest, "redacted", purged_by="operator")
        for path in (self._path(digest), self._pending_path(digest)):
            try:
                return Lookup(digest, "available", path.read_bytes())
            except FileNotFoundError:
                continue
        return Lookup(digest, "unknown")

    # ------------------------------------------------------------ writing

    def _checked(self, content: bytes) -> bytes:
        """The hash of a document this node may hold; ``DocumentError`` naming why not."""
        if len(content) > MAX_DOCUMENT_BYTES:
            raise DocumentError(
                f"a document is at most {MAX_DOCUMENT_BYTES} bytes, got {len(content)}"
            )
        digest = document_hash(content)
        if self.is_purged(digest):
            raise DocumentError(f"document 0x{digest.hex()} was purged by governance")
        if self.purged_here(digest):
            raise DocumentError(f"document 0x{digest.hex()} was purged from this node")
        return digest

    def _check_room(self, size: int) -> None:
        if self.count >= MAX_DOCUMENTS or self.bytes_used + size > MAX_STORE_BYTES:
            raise DocumentError(
                f"the document store is full ({MAX_DOCUMENTS} documents or "
                f"{MAX_STORE_BYTES} bytes); the operator may purge documents"
            )

    def put(self, content: bytes) -> tuple[bytes, bool]:
        """Hold ``content`` until a committed request names it: its hash, and whether new here.

        What anyone may send (RPC, or a peer ahead of the block): it goes to
        the bounded pending area, evicting the oldest pending document if
        need be, and is not gossiped. ``DocumentError`` if refused.
        """
        digest = self._checked(content)
        if self._path(digest).is_file() or self._pending_path(digest).is_file():
            return digest, False
        self._evict_pending(len(content))
        _write_synced(self._pending_path(digest), content)
        self._pending[digest] = len(content)
        return digest, True

    def admit(self, content: bytes) -> tuple[bytes, bool]:
        """Keep ``content`` for good (a committed request names it): its hash, and whether new."""
        digest = self._checked(content)
        path = self._path(digest)
        if path.is_file():
            return digest, False
        if self.promote(digest) is not None:
            return digest, True
        self._check_room(len(content))
        path.parent.mkdir(exist_ok=True)
        _write_synced(path, content)
        self.count += 1
        self.bytes_used += len(content)
        return digest, True

    def promote(self, digest: bytes) -> bytes | None:
        """A committed request names ``digest``: move it from pending into the store.

        Its bytes (to gossip), or None if it is not pending here.
        """
        pending = self._pending_path(check_hash(digest))
        try:
            content = pending.read_bytes()
        except FileNotFoundError:
            return None
        self._check_room(len(content))
        path = self._path(digest)
        path.parent.mkdir(exist_ok=True)
        os.replace(pending, path)  # atomic: pending or kept, never both or neither
        self._pending.pop(digest, None)
        self.count += 1
        self.bytes_used += len(content)
        return content

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def pending_bytes(self) -> int:
        return sum(self._pending.values())

    def _evict_pending(self, size: int) -> None:
        """Make room for ``size`` more pending bytes: the oldest pending documents go first."""
        used = self.pending_bytes
        while self._pending and (
            len(self._pending) >= MAX_PENDING_DOCUMENTS or used + size > MAX_PENDING_BYTES
        ):
            oldest = next(iter(self._pending))
            used -= self._pending[oldest]
            self._drop_pending(oldest)

    def _drop_pending(self, digest: bytes) -> bool:
        """Delete a pending document; whether it was pending."""
        if self._pending.pop(digest, None) is None:
            return False
        self._pending_path(digest).unlink(missing_ok=True)
        return True

    def forget(self, digest: bytes) -> bool:
        """Delete a document if it is here, kept or pending (a purge); whether it was."""
        path = self._path(check_hash(digest))
        dropped = self._drop_pending(digest)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return dropped
        self.count -= 1
        self.bytes_used -= size
        return True

    def purge_here(self, digest: bytes) -> bool:
        """The operator's purge: delete it and refuse it on this node from now on.

        Returns whether the document was stored here.
        """
        self._tombstone(check_hash(digest)).touch()
        return self.forget(digest)

    def sweep(self) -> int:
        """Delete every stored or pending document governance purged (at start); how many."""
        gone = 0
        for path in [*self._files(), *self._pending_files()]:
            digest = bytes.fromhex(path.name)
            if self.is_purged(digest) and self.forget(digest):
                gone += 1
        return gone


def _write_synced(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file, fsync it and rename it to ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
