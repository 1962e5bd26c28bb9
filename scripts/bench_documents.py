"""What the document store beside the chain costs (F10, docs/credit.md §10).

    .venv/bin/python scripts/bench_documents.py --count 50

The store alone (``node.daemon.documents.DocumentStore`` in a temporary
   directory on this disk): ``--count`` puts and lookups of documents of 1 KiB
   and of the largest size (256 KiB), each put written and fsynced; the
   median per operation.
How fast a document reaches the other validators is not measured here: a
document travels only once a committed request names it (node/daemon/
documents.py), so its spread is part of a credit request's flow, which
tests/e2e/test_documents_live.py checks on a real localnet.

Figures depend on the machine and its load; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from node.daemon.documents import MAX_DOCUMENT_BYTES, DocumentStore


def _ms(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.2f} ms, max {max(seconds) * 1000:.2f} ms"


def bench_store(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as folder:
        store = DocumentStore(Path(folder), lambda _digest: False)
        for size in (1024, MAX_DOCUMENT_BYTES):
            contents = [os.urandom(size) for _ in range(count)]
            puts, gets = [], []
            for content in contents:
                start = time.perf_counter()
                digest, _ = store.put(content)
                puts.append(time.perf_counter() - start)
                start = time.perf_counter()
                found = store.lookup(digest)
                gets.append(time.perf_counter() - start)
                assert found.content == content
            print(f"store, {size} B documents x {count}: put (fsync) {_ms(puts)}; get {_ms(gets)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    bench_store(args.count)
    print(f"(load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
