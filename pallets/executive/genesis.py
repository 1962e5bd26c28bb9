"""Genesis as the runtime sees it: a plain config in, the initial state out.

Theory of operation
-------------------
``genesis/`` validates the JSON document (pydantic) and hands the runtime a
``GenesisConfig`` of plain values. ``genesis_state`` writes the parameter
table, then runs each pallet's ``genesis`` hook in pallet-index order on an
overlay over the empty state, exactly as a block's hooks run; the overlay's
writes are the genesis state. Pallets never see the JSON document, so they do
not depend on ``genesis/``.
"""

from __future__ import annotations

from ledger.overlay import MemoryState, StateOverlay
from ledger.types import EMPTY_HASH
from pallets.executive.registry import PalletRegistry
from pallets.support.context import BlockInfo, CallContext
from pallets.support.genesis_config import GenesisConfig
from pallets.support.params import param_state


def genesis_block_info(config: GenesisConfig) -> BlockInfo:
    return BlockInfo(
        height=0,
        timestamp_ms=config.genesis_time * 1000,
        parent_hash=EMPTY_HASH,
        last_commit_hash=EMPTY_HASH,
        proposer=EMPTY_HASH,
        seed=EMPTY_HASH,
        epoch=0,
    )


def genesis_state(registry: PalletRegistry, config: GenesisConfig) -> dict[bytes, bytes]:
    """Every (key, value) of the state at height 0."""
    overlay = StateOverlay(MemoryState(param_state(config.params)))
    ctx = CallContext(overlay, genesis_block_info(config), None, None, wiring=registry.wiring)
    for pallet in registry.pallets:
        if pallet.genesis is not None:
            pallet.genesis(config, ctx)
    state = param_state(config.params)
    for key, value in overlay.changes().items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    return dict(sorted(state.items()))
