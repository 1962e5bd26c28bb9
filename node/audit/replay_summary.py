"""What a replayed chain holds at its head: accounts, total supply, and pallet records.

Theory of operation
-------------------
The summary reads the head state through the storage items the pallets
declare, never by guessing key layouts: total supply is
``balances/total_issuance``, accounts are the entries of ``balances/free``.
Counts of funds, credit requests and loans are reported only for the pallets the
runtime actually has: ``OPTIONAL_COUNTS`` names (pallet, storage map) pairs,
and a pair whose pallet or map is absent is skipped, so the summary grows by
itself as pallets land.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from node.daemon.chain import Chain
from pallets.balances.storage import FREE, TOTAL_ISSUANCE
from pallets.support.storage import StorageMap

# (label, pallet, storage map) counted when the runtime has that map.
OPTIONAL_COUNTS: Final = (
    ("funds", "funds", "fund"),
    ("funders", "funds", "funder"),
    ("fund proposals", "funds", "proposal"),
    ("credit requests", "credit", "request"),
    ("loans", "loans", "loan"),
    ("open loans", "loans", "open"),
    ("trust records", "trust", "index"),
)


@dataclass(frozen=True, slots=True)
class ChainSummary:
    height: int
    accounts: int
    total_supply: int
    validators: int
    counts: dict[str, int] = field(default_factory=dict)


def summarize(chain: Chain) -> ChainSummary:
    state = chain.runtime.state(chain.state_root)
    counts: dict[str, int] = {}
    pallets = {p.name: p for p in chain.runtime.registry.pallets}
    for label, pallet_name, map_name in OPTIONAL_COUNTS:
        pallet = pallets.get(pallet_name)
        if pallet is None:
            continue
        for item in pallet.storage:
            if isinstance(item, StorageMap) and item.name == map_name:
                counts[label] = sum(1 for _ in state.iterate(item.prefix))
    return ChainSummary(
        height=chain.height,
        accounts=sum(1 for _ in state.iterate(FREE.prefix)),
        total_supply=int(TOTAL_ISSUANCE.get(state)),
        validators=len(chain.validators_for(chain.height + 1).validators),
        counts=counts,
    )
