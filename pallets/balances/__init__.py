"""The balances pallet: free balances, transfers, total issuance, module accounts.

No fees are charged for now (docs/runtime.md); weight limits bound the work.
"""

from __future__ import annotations

from typing import Final

from pallets.balances import calls, currency, errors, events, genesis, hooks, queries, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="balances",
    index=1,
    doc="Free balances, transfers, total issuance, module accounts.",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    queries=tuple(queries.queries.defs),
    constants={
        "module_account_domain": currency.MODULE_DOMAIN.decode(),
        "commons_account": "0x" + currency.module_account(currency.COMMONS).hex(),
        "max_amount": currency.AMOUNT_MAX,
    },
    hooks=hooks.HOOKS,
    genesis=genesis.build,
)
