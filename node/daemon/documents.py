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

A document is at most ``MAX_DOCUMENT_BYTES``; the store holds at most
``MAX_DOCUMENTS`` documents and ``MAX_STORE_BYTES`` bytes (anyone may put a
document over RPC, and peers gossip them: a full store refuses new ones
rather than fill the disk). ``lookup`` answers ``available`` with the
bytes, ``redacted`` (purged here by the operator, or network-wide by
governance: ``is_purged`` reads ``credit/purged/<hash>`` in the state at
the node's head) or ``unknown``. A document governance purged is deleted
when the purge's block is committed (``forget``), at the latest when it is
next looked up, and at start (``sweep``).
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
        for leftover in root.glob("??/.tmp-*"):  # a put cut short by a crash
            leftover.unlink(missing_ok=True)
        self.count = 0
        self.bytes_used = 0
        for path in self._files():
            self.count += 1
            self.bytes_used += path.stat().st_size

    def _path(self, digest: bytes) -> Path:
        name = digest.hex()
        return self.root / name[:2] / name

    def _tombstone(self, digest: bytes) -> Path:
        return self.root / PURGED_DIR / digest.hex()

    def _files(self) -> Iterator[Path]:
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                yield from (p for p in sorted(folder.iterdir()) if len(p.name) == 2 * HASH_LEN)

    # ------------------------------------------------------------ reading

    def has(self, digest: bytes) -> bool:
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
        try:
            content = self._path(digest).read_bytes()
        except FileNotFoundError:
            return Lookup(digest, "unknown")
        return Lookup(digest, "available", content)

    # ------------------------------------------------------------ writing

    def put(self, content: bytes) -> tuple[bytes, bool]:
        """Store ``content``; its hash and whether it is new. ``DocumentError`` if refused."""
        if len(content) > MAX_DOCUMENT_BYTES:
            raise DocumentError(
                f"a document is at most {MAX_DOCUMENT_BYTES} bytes, got {len(content)}"
            )
        digest = document_hash(content)
        if self.is_purged(digest):
            raise DocumentError(f"document 0x{digest.hex()} was purged by governance")
        if self.purged_here(digest):
            raise DocumentError(f"document 0x{digest.hex()} was purged from this node")
        path = self._path(digest)
        if path.is_file():
            return digest, False
        if self.count >= MAX_DOCUMENTS or self.bytes_used + len(content) > MAX_STORE_BYTES:
            raise DocumentError(
                f"the document store is full ({MAX_DOCUMENTS} documents or "
                f"{MAX_STORE_BYTES} bytes); the operator may purge documents"
            )
        path.parent.mkdir(exist_ok=True)
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
        self.count += 1
        self.bytes_used += len(content)
        return digest, True

    def forget(self, digest: bytes) -> bool:
        """Delete a document if it is here (a governance purge); whether it was."""
        path = self._path(check_hash(digest))
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return False
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
        """Delete every stored document governance purged (at start); how many."""
        gone = 0
        for path in list(self._files()):
            digest = bytes.fromhex(path.name)
            if self.is_purged(digest) and self.forget(digest):
                gone += 1
        return gone
