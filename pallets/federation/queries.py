"""Queries of the federation pallet: agreements (X1), loss-share debts (X3), splits (X2).

An agreement's options are given both as the bit sum (``options``: 1 trust,
2 reviewers, 4 losses) and by name (``option_names``).

* ``agreements(fund?)``: every agreement in force, or one fund's;
* ``get(fund, partner)``: the agreement of two funds (or None), each fund's
  pending consent to the other, and the loss-share ledgers of both directions;
* ``debts(fund?)``: every loss-share ledger (or a fund's, as debtor or
  creditor): shared in total, paid, still owed, and the totals;
* ``getLoss(loan)``: how a write-off was shared, or None;
* ``getSplit(request)``: the split credit a request is part of, or None.
"""

from __future__ import annotations

from typing import Any, Final

from pallets.federation import api
from pallets.federation.storage import (
    AGREEMENT,
    CONSENT,
    MAX_PARTNERS,
    MAX_SPLIT_PARTS,
    OPTION_BITS,
    SPLIT,
    option_names,
)
from pallets.support.argtypes import ACCOUNT, AMOUNT, HASH, U32, U64, Enum, List, Optional
from pallets.support.queries import BadArgument, QueryReader, QuerySet, Struct

MAX_ROWS: Final = 1 << 16
FUND_IDS: Final = List(U32, 2)
NAMES: Final = List(Enum(tuple(name for name, _ in OPTION_BITS)), len(OPTION_BITS))
AGREEMENT_VIEW: Final = Struct(
    "agreement_view",
    (
        ("funds", FUND_IDS),
        *AGREEMENT.record.fields[:1],
        ("option_names", NAMES),
        *AGREEMENT.record.fields[1:],
    ),
)
LEDGER_VIEW: Final = Struct(
    "ledger_view",
    (("debtor", U32), ("creditor", U32), ("shared", AMOUNT), ("paid", AMOUNT), ("owed", AMOUNT)),
)
_CONSENT: Final = dict(CONSENT.record.fields)
CONSENT_VIEW: Final = Struct(
    "consent_view",
    (
        ("fund", U32),
        ("partner", U32),
        ("options", _CONSENT["options"]),
        ("option_names", NAMES),
        ("proposal", _CONSENT["proposal"]),
        ("passed", _CONSENT["passed"]),
    ),
)
BETWEEN_VIEW: Final = Struct(
    "between_view",
    (
        ("funds", FUND_IDS),
        ("agreement", Optional(AGREEMENT_VIEW)),
        ("consents", List(CONSENT_VIEW, 2)),
        ("ledgers", List(LEDGER_VIEW, 2)),
    ),
)
DEBTS_VIEW: Final = Struct(
    "debts_view",
    (
        ("fund", Optional(U32)),
        ("ledgers", List(LEDGER_VIEW, MAX_ROWS)),
        ("owed_by_fund", AMOUNT),
        ("owed_to_fund", AMOUNT),
    ),
)
LOSS_VIEW: Final = Struct(
    "loss_view",
    (
        ("loan", U64),
        ("fund", U32),
        ("missing", AMOUNT),
        ("share", AMOUNT),
        ("kept_by_fund", AMOUNT),
        (
            "parts",
            List(
                Struct("loss_part_view", (("partner", U32), ("paid", AMOUNT), ("owed", AMOUNT))),
                MAX_PARTNERS,
            ),
        ),
        ("time", U64),
    ),
)
_SPLIT: Final = dict(SPLIT.record.fields)
SPLIT_VIEW: Final = Struct(
    "split_view",
    (
        ("id", HASH),
        ("submitter", ACCOUNT),
        ("parts", List(Struct("split_part", (("request", U64), ("fund", U32))), MAX_SPLIT_PARTS)),
        ("amount", AMOUNT),
        ("created", _SPLIT["created"]),
    ),
)

queries = QuerySet("federation")


def _agreement(funds: list[int], record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "funds": funds, "option_names": option_names(record["options"])}


def _ledger(debtor: int, creditor: int, row: dict[str, int]) -> dict[str, Any]:
    return {
        "debtor": debtor,
        "creditor": creditor,
        **{k: row[k] for k in ("shared", "paid", "owed")},
    }


@queries.query("agreements", args=(("fund", Optional(U32)),), result=List(AGREEMENT_VIEW, MAX_ROWS))
def agreements(state: QueryReader, fund: int | None) -> list[dict[str, Any]]:
    """Agreements in force (X1), all or one fund's, with their options."""
    return [_agreement(row.pop("funds"), row) for row in api.all_agreements(state, fund)]


@queries.query("get", args=(("fund", U32), ("partner", U32)), result=BETWEEN_VIEW)
def get(state: QueryReader, fund: int, partner: int) -> dict[str, Any]:
    """Two funds: their agreement, pending consents and loss-share ledgers (X1, X3)."""
    if fund == partner:
        raise BadArgument("partner", "the partner must be another fund than fund")
    found = api.between(state, fund, partner)
    record = found["agreement"]
    consents = []
    for side, other in ((fund, partner), (partner, fund)):
        pending = found["consents"][side]
        if pending is not None:
            consents.append(
                {
                    "fund": side,
                    "partner": other,
                    **pending,
                    "option_names": option_names(pending["options"]),
                }
            )
    funds = sorted((fund, partner))
    return {
        "funds": funds,
        "agreement": None if record is None else _agreement(funds, record),
        "consents": consents,
        "ledgers": [
            _ledger(fund, partner, found["ledgers"][fund]),
            _ledger(partner, fund, found["ledgers"][partner]),
        ],
    }


@queries.query("debts", args=(("fund", Optional(U32)),), result=DEBTS_VIEW)
def debts(state: QueryReader, fund: int | None) -> dict[str, Any]:
    """Loss shares assessed, paid and still owed between funds (X3)."""
    rows = api.debts(state, fund)
    return {
        "fund": fund,
        "ledgers": [_ledger(r["debtor"], r["creditor"], r) for r in rows],
        "owed_by_fund": sum(r["owed"] for r in rows if fund is None or r["debtor"] == fund),
        "owed_to_fund": sum(r["owed"] for r in rows if fund is None or r["creditor"] == fund),
    }


@queries.query("getLoss", args=(("loan", U64),), result=Optional(LOSS_VIEW))
def get_loss(state: QueryReader, loan: int) -> dict[str, Any] | None:
    """How a written-off loan's loss was shared among federated funds (X3)."""
    found = api.loss(state, loan)
    if found is None:
        return None
    share, parts = found["share"], found["parts"]
    return {
        "loan": loan,
        **found,
        "kept_by_fund": found["missing"] - share * len(parts),
        "parts": [
            {"partner": partner, "paid": paid, "owed": owed} for partner, paid, owed in parts
        ],
    }


@queries.query("getSplit", args=(("request", U64),), result=Optional(SPLIT_VIEW))
def get_split(state: QueryReader, request: int) -> dict[str, Any] | None:
    """The split credit a request is part of (X2), or None."""
    found = api.split_of(state, request)
    if found is None:
        return None
    split_id, record = found
    return {
        "id": split_id,
        "submitter": record["submitter"],
        "parts": [
            {"request": r, "fund": f}
            for r, f in zip(record["requests"], record["funds"], strict=True)
        ],
        "amount": record["amount"],
        "created": record["created"],
    }
