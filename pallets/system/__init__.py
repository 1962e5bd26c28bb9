"""The system pallet: accounts' nonces, block height and BFT time, epochs,
the validator set, and the framework's own errors.

The events of each block are collected by the executor (receipts carry each
extrinsic's events, the header's ``events_root`` covers the hooks' events);
they are not kept in the state, so the trie does not grow by a block's events.
"""

from __future__ import annotations

from typing import Final

from pallets.support.declare import Pallet
from pallets.system import calls, errors, events, genesis, hooks, storage

PALLET: Final = Pallet(
    name="system",
    index=0,
    doc="Nonces, block height and BFT time, epochs, the validator set.",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    constants={"max_remark_bytes": calls.MAX_REMARK, "max_validators": storage.MAX_VALIDATORS},
    hooks=hooks.HOOKS,
    genesis=genesis.build,
)
