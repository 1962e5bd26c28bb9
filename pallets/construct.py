"""The chain's runtime: which pallets it has (in hook order) and how to build it.

Adding a pallet is one line in ``PALLETS`` (and its parameters in
``pallets/support/params.py``). This is the module the node, the RPC
server and genesis import to get the runtime.
"""

from __future__ import annotations

from typing import Final

from ledger.overlay import StateReader
from pallets import (
    balances,
    commons,
    credit,
    federation,
    funds,
    governance,
    health,
    loans,
    members,
    payment,
    system,
    trust,
)
from pallets.executive import invariants
from pallets.executive.executor import Runtime, StateTrie
from pallets.executive.registry import PalletRegistry
from pallets.executive.verify import BatchVerifier

PALLETS: Final = (
    system.PALLET,
    balances.PALLET,
    payment.PALLET,  # fees, community allowance, dust (P1-P3)
    funds.PALLET,
    trust.PALLET,
    credit.PALLET,
    loans.PALLET,
    federation.PALLET,  # federation of funds (X1-X3)
    # members and governance (G1-G6)
    members.PALLET,
    governance.PALLET,
    # health and commons (H1-H3, R1-R3)
    health.PALLET,
    commons.PALLET,
)


def registry() -> PalletRegistry:
    return PalletRegistry(PALLETS)


def check_invariants(state: StateReader) -> list[str]:
    """Every pallet's ``try_state`` on ``state``: [] when I1, I2... all hold."""
    return invariants.check_invariants(registry(), state)


def build_runtime(
    genesis_hash: bytes, trie: StateTrie, *, verifier: BatchVerifier | None = None
) -> Runtime:
    return Runtime(registry(), genesis_hash, trie, verifier=verifier)
