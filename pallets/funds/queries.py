"""Queries of the funds pallet: a fund with its funders, and every fund briefly (F1-F10).

An unknown fund is ``None``. A fund's report (L7) needs the loans, so the
loans pallet serves it (``funds_report``, pallets/loans/queries.py).
"""

from __future__ import annotations

from typing import Any, Final

from pallets.funds import api
from pallets.funds.storage import FUND, FUNDER, FUNDS
from pallets.support.argtypes import ACCOUNT, AMOUNT, U32, List, Optional
from pallets.support.queries import QueryReader, QuerySet, Struct

MAX_LIST: Final = 1000

FUNDER_VIEW: Final = Struct("funder_view", (("account", ACCOUNT), *FUNDER.record.fields))
FUND_VIEW: Final = Struct(
    "fund_view",
    (
        ("id", U32),
        *FUND.record.fields,
        ("cash_account", ACCOUNT),
        ("cash", AMOUNT),
        ("size", AMOUNT),
        ("funder_list", List(FUNDER_VIEW, MAX_LIST)),
        ("pending_exits", U32),
    ),
)
_FIELDS: Final = dict(FUND.record.fields)
FUND_ROW: Final = Struct(
    "fund_row",
    (
        ("id", U32),
        *((name, _FIELDS[name]) for name in ("name", "status", "funders", "contribution")),
        ("rate_bps", _FIELDS["rate_bps"]),
        ("size", AMOUNT),
    ),
)

queries = QuerySet("funds")


@queries.query("get", args=(("fund", U32),), result=Optional(FUND_VIEW))
def get(state: QueryReader, fund: int) -> dict[str, Any] | None:
    """A fund (F1-F10)."""
    record = api.find_fund(state, fund)
    if record is None:
        return None
    funders = []
    for account in api.funders(state, fund):
        found = api.funder(state, fund, account)
        if found is not None:
            funders.append({"account": account, **FUNDER.as_dict(found)})
    return {
        "id": fund,
        **FUND.as_dict(record),
        "cash_account": api.cash_account(fund),
        "cash": api.cash(state, fund),
        "size": api.size(state, fund, record),
        "funder_list": funders[:MAX_LIST],
        "pending_exits": len(api.pending_exits(state, fund)),
    }


@queries.query("list", result=List(FUND_ROW, MAX_LIST))
def list_funds(state: QueryReader) -> list[dict[str, Any]]:
    """Every fund, briefly."""
    out = []
    for fund_id, fund in FUNDS.items(state):
        out.append(
            {
                "id": fund_id,
                "name": fund.name,
                "status": fund.status.value,
                "funders": fund.funders,
                "contribution": fund.contribution,
                "rate_bps": fund.rate_bps,
                "size": api.size(state, fund_id, fund),
            }
        )
        if len(out) >= MAX_LIST:
            break
    return out
