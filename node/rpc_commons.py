"""RPC queries of the commons pallet: the pool, redistributions, issuance (R1-R3).

Amounts are decimal strings of minor units (wire.md §3); the pool account is
bech32m. ``commons_issuance`` is the R3 window at the block's time: what was
minted this (365-day, chain-time) year against the cap.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import Field

from ledger.crypto import DEFAULT_HRP
from ledger.overlay import StateReader
from pallets.balances import currency
from pallets.commons import api as commons_api
from pallets.commons.storage import KEPT_ROUNDS
from pallets.support.params import param
from rpc.encoding import address_text
from rpc.registry import MethodRegistry, NoParams, Params

OBJECT: Final = {"type": "object"}
ARRAY: Final = {"type": "array"}


def pool_view(state: StateReader, hrp: str = DEFAULT_HRP) -> dict[str, Any]:
    totals = commons_api.totals(state)
    return {
        "account": address_text(commons_api.pool_account(), hrp),
        "balance": str(commons_api.pool_balance(state)),
        "total_supply": str(currency.total_issuance(state)),
        "redistribution_share_bps": param(state, "redistribution", "redistribution_share"),
        "interest_commons_share_bps": param(state, "redistribution", "interest_commons_share"),
        "minted_total": str(totals["minted"]),
        "from_interest_total": str(totals["from_interest"]),
        "granted_total": str(totals["granted"]),
    }


def redistributions_view(state: StateReader, limit: int) -> list[dict[str, Any]]:
    return [
        {
            "epoch": r["epoch"],
            "pool_before": str(r["pool_before"]),
            "taken": str(r["taken"]),
            "funds": r["funds"],
            "share_bps": r["share_bps"],
            "grants": [
                {
                    "fund": g["fund"],
                    "bioregion": g["bioregion"],
                    "need": g["need"],
                    "amount": str(g["amount"]),
                }
                for g in r["grants"]
            ],
        }
        for r in commons_api.rounds(state, limit)
    ]


def issuance_view(state: StateReader) -> dict[str, Any]:
    status = commons_api.issuance_status(state)
    return {
        "year": status["year"],
        "year_start": status["year_start"],
        "year_end": status["year_end"],
        "max_issuance_bps": status["max_issuance_bps"],
        "base_supply": str(status["base_supply"]),
        "cap": str(status["cap"]),
        "minted": str(status["minted"]),
        "remaining": str(status["remaining"]),
    }


class RedistributionParams(Params):
    limit: Annotated[int, Field(strict=True, ge=1, le=KEPT_ROUNDS)] = 10


def register_commons_queries(registry: MethodRegistry, *, hrp: str = DEFAULT_HRP) -> None:
    """Register commons_pool, commons_redistributions, commons_issuance on ``registry``."""

    @registry.pallet_query(
        "commons",
        "pool",
        params=NoParams,
        result=OBJECT,
        description="The commons pool: balance, shares and running totals (R1).",
    )
    def commons_pool(state: StateReader, params: NoParams) -> Any:
        return pool_view(state, hrp)

    @registry.pallet_query(
        "commons",
        "redistributions",
        params=RedistributionParams,
        result=ARRAY,
        description="Recent redistribution rounds with their grants, newest first (R2).",
    )
    def commons_redistributions(state: StateReader, params: RedistributionParams) -> Any:
        return redistributions_view(state, params.limit)

    @registry.pallet_query(
        "commons",
        "issuance",
        params=NoParams,
        result=OBJECT,
        description="Minted this (365-day chain-time) year against the cap (R3).",
    )
    def commons_issuance(state: StateReader, params: NoParams) -> Any:
        return issuance_view(state)
