"""The document store beside the chain (F10): content-addressed, bounded, purgeable.

``admit`` keeps what a committed request names; ``put`` (anyone, over RPC)
only holds a document in the bounded pending area until ``promote``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.crypto import blake2b256
from node.cli.node import app
from node.daemon import documents
from node.daemon.documents import MAX_DOCUMENT_BYTES, DocumentError, DocumentStore
from node.daemon.service import NodePaths


class Chain:
    """The chain's purge marks (credit/purged), as a set the test controls."""

    def __init__(self) -> None:
        self.purged: set[bytes] = set()

    def is_purged(self, digest: bytes) -> bool:
        return digest in self.purged


def store(root: Path, chain: Chain | None = None) -> DocumentStore:
    return DocumentStore(root / "documents", (chain or Chain()).is_purged)


def test_a_document_is_named_by_the_hash_of_its_bytes_and_survives_a_reopen(
    tmp_path: Path,
) -> None:
    docs = store(tmp_path)
    digest, new = docs.admit(b"print the new fanzine")
    assert (digest, new) == (blake2b256(b"print the new fanzine"), True)
    assert docs.admit(b"print the new fanzine") == (digest, False)
    assert docs.put(b"print the new fanzine") == (digest, False)  # kept already
    path = tmp_path / "documents" / digest.hex()[:2] / digest.hex()
    assert path.read_bytes() == b"print the new fanzine"
    again = store(tmp_path)
    assert (again.count, again.bytes_used) == (1, len(b"print the new fanzine"))
    found = again.lookup(digest)
    assert (found.status, found.content) == ("available", b"print the new fanzine")
    assert again.lookup(blake2b256(b"never put")).status == "unknown"


def test_a_put_cut_short_leaves_no_document_and_its_temporary_file_goes(tmp_path: Path) -> None:
    docs = store(tmp_path)
    digest, _ = docs.admit(b"kept")
    leftover = tmp_path / "documents" / digest.hex()[:2] / ".tmp-crashed"
    leftover.write_bytes(b"half a docu")
    pending_leftover = tmp_path / "documents" / "pending" / ".tmp-crashed"
    pending_leftover.write_bytes(b"half a docu")
    again = store(tmp_path)
    assert not leftover.exists() and not pending_leftover.exists()
    assert (again.count, again.bytes_used) == (1, len(b"kept"))


def test_size_is_bounded(tmp_path: Path) -> None:
    docs = store(tmp_path)
    docs.put(b"x" * MAX_DOCUMENT_BYTES)
    with pytest.raises(DocumentError, match=f"at most {MAX_DOCUMENT_BYTES} bytes"):
        docs.put(b"x" * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(DocumentError, match="32 bytes"):
        docs.lookup(b"short")


def test_a_full_store_refuses_new_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "MAX_DOCUMENTS", 2)
    docs = store(tmp_path)
    docs.admit(b"one")
    docs.admit(b"two")
    with pytest.raises(DocumentError, match="full"):
        docs.admit(b"three")
    assert docs.admit(b"one") == (blake2b256(b"one"), False)  # one it has: no new space
    pending, _ = docs.put(b"four")  # held; the store is full when a request names it
    with pytest.raises(DocumentError, match="full"):
        docs.promote(pending)
    assert docs.lookup(pending).status == "available"  # still pending


def test_the_operators_purge_deletes_it_here_and_refuses_it_afterwards(tmp_path: Path) -> None:
    docs = store(tmp_path)
    digest, _ = docs.admit(b"my address is 12 Elm Street")
    assert docs.purge_here(digest) is True
    found = docs.lookup(digest)
    assert (found.status, found.content, found.purged_by) == ("redacted", None, "operator")
    assert not any((tmp_path / "documents").rglob(digest.hex()[:2] + "/*"))
    with pytest.raises(DocumentError, match="purged from this node"):
        docs.put(b"my address is 12 Elm Street")
    assert (docs.count, docs.bytes_used) == (0, 0)
    # a purge of what was never here still refuses it from now on
    other = blake2b256(b"later")
    assert docs.purge_here(other) is False
    with pytest.raises(DocumentError, match="purged from this node"):
        docs.put(b"later")


def test_a_governance_purge_deletes_it_on_lookup_on_sweep_and_refuses_it(tmp_path: Path) -> None:
    chain = Chain()
    docs = store(tmp_path, chain)
    first, _ = docs.admit(b"first")
    second, _ = docs.admit(b"second")
    kept, _ = docs.admit(b"kept")
    held, _ = docs.put(b"held")  # pending
    chain.purged |= {first, second, held}
    found = docs.lookup(first)
    assert (found.status, found.purged_by) == ("redacted", "governance")
    assert not docs.has(first) and docs.has(second)
    assert docs.sweep() == 2  # second and the pending one; first is gone already
    assert docs.pending_count == 0
    assert not docs.has(second) and docs.has(kept)
    with pytest.raises(DocumentError, match="purged by governance"):
        docs.put(b"second")
    assert (docs.count, docs.bytes_used) == (1, len(b"kept"))
    assert docs.forget(kept) is True and docs.forget(kept) is False


def test_node_purge_document_erases_it_from_a_home(tmp_path: Path) -> None:
    paths = NodePaths(tmp_path)
    paths.genesis.write_text("{}")
    docs = DocumentStore(paths.documents, Chain().is_purged)
    digest, _ = docs.admit(b"12 Elm Street")
    runner = CliRunner()
    result = runner.invoke(app, ["purge-document", "0x" + digest.hex(), "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"document 0x{digest.hex()} deleted" in result.output
    assert docs.lookup(digest).status == "redacted"  # the running store sees the tombstone
    result = runner.invoke(app, ["purge-document", "0x12", "--home", str(tmp_path)])
    assert result.exit_code == 2 and "64 hex digits" in result.output
    result = runner.invoke(app, ["purge-document", "0x" + digest.hex(), "--home", "/nonexistent"])
    assert result.exit_code == 2 and "not a node home" in result.output


def test_a_put_is_held_in_pending_until_a_request_names_it(tmp_path: Path) -> None:
    """Anyone's put is not kept for good: it waits, bounded, until ``promote``."""
    docs = store(tmp_path)
    digest, new = docs.put(b"what the loan is for")
    assert new and not docs.has(digest) and (docs.count, docs.pending_count) == (0, 1)
    found = docs.lookup(digest)
    assert (found.status, found.content) == ("available", b"what the loan is for")
    again = store(tmp_path)  # pending survives a restart
    assert again.pending_count == 1 and again.pending_bytes == len(b"what the loan is for")
    assert again.promote(digest) == b"what the loan is for"
    assert again.has(digest) and (again.count, again.pending_count) == (1, 0)
    assert again.promote(digest) is None  # kept already: nothing pending
    assert again.promote(blake2b256(b"never put")) is None
    assert again.admit(b"what the loan is for") == (digest, False)


def test_pending_is_bounded_and_the_oldest_goes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "MAX_PENDING_DOCUMENTS", 3)
    monkeypatch.setattr(documents, "MAX_PENDING_BYTES", 1000)
    docs = store(tmp_path)
    first, _ = docs.put(b"a" * 10)
    second, _ = docs.put(b"b" * 10)
    third, _ = docs.put(b"c" * 10)
    fourth, _ = docs.put(b"d" * 10)  # count bound: the first goes
    assert [docs.lookup(d).status for d in (first, second, third, fourth)] == [
        "unknown",
        "available",
        "available",
        "available",
    ]
    big, _ = docs.put(b"e" * 990)  # byte bound: the two oldest go, 10 + 990 fit
    assert docs.pending_count == 2 and docs.pending_bytes == 1000
    assert [docs.lookup(d).status for d in (second, third, fourth, big)] == [
        "unknown",
        "unknown",
        "available",
        "available",
    ]
    assert docs.count == 0  # nothing was kept for good by any put


def test_admit_takes_a_pending_copy_or_the_bytes(tmp_path: Path) -> None:
    docs = store(tmp_path)
    digest, _ = docs.put(b"held first")
    assert docs.admit(b"held first") == (digest, True)
    assert (docs.count, docs.pending_count) == (1, 0)
    assert docs.admit(b"straight from a peer") == (blake2b256(b"straight from a peer"), True)
    assert docs.count == 2
