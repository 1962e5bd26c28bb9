"""The garbage collector's thresholds for processes that execute blocks.

Executing a block allocates hundreds of thousands of short-lived containers
(decoded extrinsics, overlays, events, receipts, trie staging lists). Almost
all of them are freed by reference counting; the cyclic collector only has to
find the rare cycle. With CPython's default thresholds (700, 10, 10) it runs a
young collection every 700 net allocations and an older one every ten of
those, and each pass also walks the survivors, which in a validator include
the caches that live for the whole run. Measured with ``gc.callbacks`` in
the process of ``scripts/bench_validator.py``'s pipeline (a proposer and a
validator, set-up included, 10 blocks of 1 000 transfers): 23-29 µs of
collector time per transfer with the defaults, 6-8 µs with the thresholds
below, about 0.3 of a signature verification; in ``scripts/bench_runtime.py``'s
worker with 1 000 000 accounts, 29-30 ms per block of 1 000 transfers against
8-9 ms.

Larger thresholds only delay finding cyclic garbage (the objects allocated
since the last pass, not the long-lived ones), which is a bounded amount of
memory; nothing else changes. ``gc.freeze`` of the startup objects was tried
as well and saved nothing more.
"""

from __future__ import annotations

import gc
from typing import Final

# Net container allocations between young collections, then young collections
# per middle one and middle collections per full one.
THRESHOLDS: Final = (20_000, 20, 20)


def apply() -> None:
    """Use ``THRESHOLDS`` in this process (the node, replay and import commands)."""
    gc.set_threshold(*THRESHOLDS)
