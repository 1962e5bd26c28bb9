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

The node makes one verifier and shares it (the runtime uses it for blocks,
the mempool for what enters the pool); ``close`` stops its threads.

With ``remember > 0`` it also keeps the digests of the last ``remember``
items that verified, and answers those again without the curve arithmetic.
This is sound because verification is a pure function of (key, message,
signature) and the digest covers all three; it saves the second check of a
transfer that a node already verified when it entered its pool (half of a
node's CPU under load, profiled with py-spy). Only successes are kept, and
only the calling thread touches the memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ledger.crypto import blake2b256, verify

SignedItem = tuple[bytes, bytes, bytes]  # (public key, message, signature)


def _verify_chunk(items: Sequence[SignedItem]) -> list[bool]:
    return [verify(public, message, signature) for public, message, signature in items]


def _digest(item: SignedItem) -> bytes:
    public, message, signature = item
    return blake2b256(public + signature + message)


class BatchVerifier:
    def __init__(self, threads: int = 1, *, min_batch: int = 16, remember: int = 0) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        if remember < 0:
            raise ValueError("remember must be >= 0")
        self.threads = threads
        self.min_batch = min_batch  # below this, thread hand-off costs more than it saves
        self.remember = remember
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sigverify")
            if threads > 1
            else None
        )

    def verify_one(self, public: bytes, message: bytes, signature: bytes) -> bool:
        # The pool admits one extrinsic at a time: the same steps as verify_many
        # without its lists (their bookkeeping was a sixth of a verification).
        item = (public, message, signature)
        if not self.remember:
            return self._verify([item])[0]
        digest = _digest(item)
        if digest in self._verified:
            return True
        ok = self._verify([item])[0]
        if ok:
            self._remember(digest)
        return ok

    def verify_many(self, items: Sequence[SignedItem]) -> list[bool]:
        if not self.remember:
            return self._verify(items)
        digests = [_digest(item) for item in items]
        results = [digest in self._verified for digest in digests]
        todo = [index for index, known in enumerate(results) if not known]
        for index, ok in zip(todo, self._verify([items[i] for i in todo]), strict=True):
            results[index] = ok
            if ok:
                self._remember(digests[index])
        return results

    def _remember(self, digest: bytes) -> None:
        """Keep a verified digest; the oldest go beyond ``remember``."""
        self._verified[digest] = None
        if len(self._verified) > self.remember:
            self._verified.popitem(last=False)

    def _verify(self, items: Sequence[SignedItem]) -> list[bool]:
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
