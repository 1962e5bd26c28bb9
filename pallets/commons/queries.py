"""Queries of the commons pallet: the pool, redistributions, issuance (R1-R3).

``issuance`` is the R3 window at the block's time: what was minted this
(365-day, chain-time) year against the cap.
"""

from __future__ import annotations

from typing import Any, Final

from pallets.balances import currency
from pallets.commons import api
from pallets.commons.storage import GRANT, ISSUANCE, KEPT_ROUNDS, ROUND
from pallets.support.argtypes import ACCOUNT, AMOUNT, BPS, U32, U64, Int, List
from pallets.support.params import param
from pallets.support.queries import QueryReader, QuerySet, Struct

MAX_GRANTS: Final = 1 << 16
POOL_VIEW: Final = Struct(
    "pool_view",
    (
        ("account", ACCOUNT),
        ("balance", AMOUNT),
        ("total_supply", AMOUNT),
        ("redistribution_share_bps", BPS),
        ("interest_commons_share_bps", BPS),
        ("minted_total", AMOUNT),
        ("from_interest_total", AMOUNT),
        ("granted_total", AMOUNT),
    ),
)
ROUND_VIEW: Final = Struct(
    "redistribution_view",
    (
        ("epoch", U64),
        *ROUND.record.fields,
        ("grants", List(Struct("grant_view", (("fund", U32), *GRANT.record.fields)), MAX_GRANTS)),
    ),
)
ISSUANCE_VIEW: Final = Struct(
    "issuance_view",
    (
        *ISSUANCE.record.fields,
        ("year_start", U64),
        ("year_end", U64),
        ("max_issuance_bps", BPS),
        ("cap", AMOUNT),
        ("remaining", AMOUNT),
    ),
)

queries = QuerySet("commons")


@queries.query("pool", result=POOL_VIEW)
def pool(state: QueryReader) -> dict[str, Any]:
    """The commons pool: balance, shares and running totals (R1)."""
    totals = api.totals(state)
    return {
        "account": api.pool_account(),
        "balance": api.pool_balance(state),
        "total_supply": currency.total_issuance(state),
        "redistribution_share_bps": param(state, "redistribution", "redistribution_share"),
        "interest_commons_share_bps": param(state, "redistribution", "interest_commons_share"),
        "minted_total": totals["minted"],
        "from_interest_total": totals["from_interest"],
        "granted_total": totals["granted"],
    }


@queries.query(
    "redistributions",
    args=(("limit", Int("limit", 1, KEPT_ROUNDS)),),
    defaults={"limit": 10},
    result=List(ROUND_VIEW, KEPT_ROUNDS),
)
def redistributions(state: QueryReader, limit: int) -> list[dict[str, Any]]:
    """Recent redistribution rounds with their grants, newest first (R2)."""
    return api.rounds(state, limit)


@queries.query("issuance", result=ISSUANCE_VIEW)
def issuance(state: QueryReader) -> dict[str, Any]:
    """Minted this (365-day chain-time) year against the cap (R3)."""
    return api.issuance_status(state)
