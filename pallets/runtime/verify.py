"""Batch Ed25519 verification on worker threads.

Theory of operation
-------------------
libsodium's verification (through PyNaCl) releases the GIL, so verifying a
block's signatures on two threads takes about half the time on two cores
(DESIGN.md §6). ``BatchVerifier.verify_many`` splits the list into one
contiguous chunk per thread and returns one bool per item, in order. The
result does not depend on the number of threads: the verifier is a pure
function of its input, so it is safe inside block execution. ``threads=1``
verifies inline, with no pool.

The node makes one verifier and shares it (the runtime uses it for blocks;
the mempool may use it for gossip batches); ``close`` stops its threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ledger.crypto import verify

SignedItem = tuple[bytes, bytes, bytes]  # (public key, message, signature)


def _verify_chunk(items: Sequence[SignedItem]) -> list[bool]:
    return [verify(public, message, signature) for public, message, signature in items]


class BatchVerifier:
    def __init__(self, threads: int = 1, *, min_batch: int = 16) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.threads = threads
        self.min_batch = min_batch  # below this, thread hand-off costs more than it saves
        self._pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sigverify")
            if threads > 1
            else None
        )

    def verify_many(self, items: Sequence[SignedItem]) -> list[bool]:
        if self._pool is None or len(items) < self.min_batch:
            return _verify_chunk(items)
        size = -(-len(items) // self.threads)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results: list[bool] = []
        for part in self._pool.map(_verify_chunk, chunks):
            results.extend(part)
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> BatchVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
