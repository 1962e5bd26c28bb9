"""Queries of the credit pallet: requests, a fund's requests, re-running a draw (C1-C9).

``credit_redraw`` re-runs every stored reviewer draw of a request from its
stored seed and inputs (``draw.draw_reviewers``) and says whether the
result matches the stored panel: anyone can check the draw. An unknown
request is ``None``.
"""

from __future__ import annotations

from typing import Any, Final

from pallets.credit.draw import draw_reviewers
from pallets.credit.score import components
from pallets.credit.storage import (
    APPROVAL,
    APPROVALS,
    BY_FUND,
    MAX_DRAWS,
    REQUEST,
    REQUESTS,
    STATUSES,
)
from pallets.funds.storage import MAX_FUNDERS
from pallets.support.argtypes import ACCOUNT, AMOUNT, BOOL, HASH, U32, U64, Enum, List, Optional
from pallets.support.params import param
from pallets.support.queries import QueryReader, QuerySet, Struct
from pallets.support.records import u32

MAX_LIST: Final = 1000

_FIELDS: Final = dict(REQUEST.record.fields)
REQUEST_VIEW: Final = Struct(
    "request_view",
    (
        ("id", U64),
        *REQUEST.record.fields,
        (
            "score_components",
            Struct(
                "score_components",
                tuple((name, U64) for name in ("purpose", "history", "endorsements", "providers")),
            ),
        ),
        ("approval", Optional(APPROVAL.record)),
    ),
)
REQUEST_ROW: Final = Struct(
    "request_row",
    (
        ("id", U64),
        *((name, _FIELDS[name]) for name in ("status", "amount", "purpose")),
        ("submitter", ACCOUNT),
        ("score", _FIELDS["score"]),
    ),
)
ACCOUNTS: Final = List(ACCOUNT, MAX_FUNDERS)
CANDIDATES: Final = List(
    Struct("candidate", (("account", ACCOUNT), ("trust", AMOUNT))), MAX_FUNDERS
)
REDRAW: Final = Struct(
    "redraw",
    (
        ("id", U64),
        ("candidates", CANDIDATES),
        ("min_reviewers", U32),
        (
            "draws",
            List(
                Struct(
                    "draw_check",
                    (
                        ("height", U64),
                        ("seed", HASH),
                        ("keep", ACCOUNTS),
                        ("excluded", ACCOUNTS),
                        ("stored", ACCOUNTS),
                        ("recomputed", ACCOUNTS),
                        ("matches", BOOL),
                        ("candidates", CANDIDATES),
                    ),
                ),
                MAX_DRAWS,
            ),
        ),
    ),
)

queries = QuerySet("credit")


@queries.query("getRequest", args=(("request", U64),), result=Optional(REQUEST_VIEW))
def get_request(state: QueryReader, request: int) -> dict[str, Any] | None:
    """A credit request with its draw, verdicts and approval record (C1-C9)."""
    record = _request(state, request)
    if record is None:
        return None
    return {
        "id": request,
        **record,
        "score_components": components(state, record),
        "approval": APPROVALS.get(state, request),
    }


@queries.query(
    "listRequests",
    args=(("fund", U32), ("status", Optional(Enum(STATUSES)))),
    result=List(REQUEST_ROW, MAX_LIST),
)
def list_requests(state: QueryReader, fund: int, status: str | None) -> list[dict[str, Any]]:
    """A fund's credit requests, optionally of one status."""
    out = []
    for key, _ in state.iterate(BY_FUND.prefix + u32(fund)):
        request_id = int.from_bytes(key[-8:], "big")
        record = _request(state, request_id)
        if record is None or (status is not None and record["status"] != status):
            continue
        keep = ("status", "amount", "purpose", "submitter", "score")
        out.append({"id": request_id, **{k: record[k] for k in keep}})
        if len(out) >= MAX_LIST:
            break
    return out


def _request(state: QueryReader, request_id: int) -> dict[str, Any] | None:
    raw = REQUESTS.get(state, request_id)
    return None if raw is None else REQUEST.unwire(raw)


def _candidates(pairs: list[tuple[bytes, int]]) -> list[dict[str, Any]]:
    return [{"account": account, "trust": trust} for account, trust in pairs]


@queries.query("redraw", args=(("request", U64),), result=Optional(REDRAW))
def redraw(state: QueryReader, request: int) -> dict[str, Any] | None:
    """Re-run a request's reviewer draws from their stored seeds (C6)."""
    record = _request(state, request)
    if record is None:
        return None
    minimum = param(state, "credit", "min_reviewers")
    draws = []
    for height, seed, keep, excluded, panel, eligible in record["draws"]:
        pairs = [(account, trust) for account, trust in eligible]
        again = draw_reviewers(seed, pairs, record["amount"], minimum, keep) or []
        draws.append(
            {
                "height": height,
                "seed": seed,
                "keep": keep,
                "excluded": excluded,
                "stored": panel,
                "recomputed": again,
                "matches": again == panel,
                "candidates": _candidates(pairs),
            }
        )
    return {
        "id": request,
        "candidates": _candidates([(a, t) for a, t in record["candidates"]]),
        "min_reviewers": minimum,
        "draws": draws,
    }
