"""Queries of the trust pallet: an account's trust at a fund (T1-T5)."""

from __future__ import annotations

from typing import Any, Final

from pallets.support.argtypes import ACCOUNT, AMOUNT, U32
from pallets.support.queries import QueryReader, QuerySet, Struct
from pallets.trust import api

TRUST_VIEW: Final = Struct(
    "trust_view",
    tuple((name, AMOUNT) for name in ("trust", "in_use", "available", "local", "initial")),
)

queries = QuerySet("trust")


@queries.query("get", args=(("fund", U32), ("address", ACCOUNT)), result=TRUST_VIEW)
def get(state: QueryReader, fund: int, address: bytes) -> dict[str, Any]:
    """An account's trust index at a fund (T1-T4), its trust in use and what it can still
    bring to a request (T5)."""
    return {
        "trust": api.trust_of(state, fund, address),
        "in_use": api.in_use(state, fund, address),
        "available": api.available(state, fund, address),
        "local": api.local_trust(state, fund, address),
        "initial": api.initial_trust(state, fund),
    }
