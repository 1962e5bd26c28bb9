"""What RPC queries, the wallet and other pallets use of the commons (R1-R3).

The pool is the balance of the ``commons`` module account; the rest are
read-only views of the commons storage.
"""

from __future__ import annotations

from typing import Any, Final

from ledger.overlay import StateReader
from pallets.balances import currency
from pallets.commons import issuance
from pallets.commons.storage import GRANT, GRANTS, ROUND, ROUNDS, TOTAL, TOTALS
from pallets.system.storage import TIME

POOL_ACCOUNT: Final = currency.module_account(currency.COMMONS)


def pool_account() -> bytes:
    """The account id of the commons pool (a module account, no private key)."""
    return POOL_ACCOUNT


def pool_balance(state: StateReader) -> int:
    return currency.free_balance(state, POOL_ACCOUNT)


def totals(state: StateReader) -> dict[str, int]:
    raw = TOTAL.get(state)
    if raw is None:
        return {"minted": 0, "from_interest": 0, "granted": 0}
    return TOTALS.unwire(raw)


def rounds(state: StateReader, limit: int) -> list[dict[str, Any]]:
    """The latest ``limit`` redistribution rounds, newest first, each with its grants."""
    kept = [(epoch, ROUND.unwire(raw)) for epoch, raw in ROUNDS.items(state) if raw is not None]
    out = []
    for epoch, record in reversed(kept[-limit:] if limit > 0 else []):
        prefix = GRANTS.prefix + epoch.to_bytes(8, "big")
        grants = []
        for key, _ in state.iterate(prefix):
            value = GRANTS.get(state, key[len(GRANTS.prefix) :])
            if value is not None:
                grants.append({"fund": int.from_bytes(key[-4:], "big"), **GRANT.unwire(value)})
        out.append({"epoch": epoch, **record, "grants": grants})
    return out


def issuance_status(state: StateReader) -> dict[str, Any]:
    """R3 at the last block's time: year, base supply, minted, cap, remaining, window."""
    now: int = TIME.get(state)
    return issuance.status(state, now)
