"""Child process of test_crash.py: writes toy blocks to LevelDB until killed.

Usage: ``python -m tests.ledger.store_crash_writer DB_DIR SEED MAX_BLOCKS``.
Prints each height once its synced batch has been written, so the parent
knows a lower bound of what must survive the kill.
"""

from __future__ import annotations

import sys

from ledger.kv import LevelDBKV
from tests.ledger.store_chain import ToyChain


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: store_crash_writer DB_DIR SEED MAX_BLOCKS", file=sys.stderr)
        return 2
    path, seed, max_blocks = argv[0], int(argv[1]), int(argv[2])
    kv = LevelDBKV(path)
    chain = ToyChain(kv, seed=seed)
    for _ in range(max_blocks):
        height = chain.write_next(sync=True)
        print(height, flush=True)
    kv.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
