"""RPC queries of the federation pallet: agreements (X1), loss-share debts (X3), splits (X2).

Every method reads the state of a block (``at``, added by
``MethodRegistry.pallet_query``; the best block when omitted). Amounts are
decimal strings, accounts bech32m, hashes 0x-hex, fund ids and times
numbers; an agreement's options are given both as the bit sum (``options``:
1 trust, 2 reviewers, 4 losses) and by name (``option_names``).

* ``federation_agreements(fund?)``: every agreement in force, or one fund's;
* ``federation_get(fund, partner)``: the agreement of two funds (or null),
  each fund's pending consent to the other, and the loss-share ledgers of
  both directions;
* ``federation_debts(fund?)``: every loss-share ledger (or a fund's, as
  debtor or creditor): shared in total, paid, still owed, and the totals;
* ``federation_getLoss(loan)``: how a write-off was shared, or null;
* ``federation_getSplit(request)``: the split credit a request is part of,
  or null.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import model_validator

from ledger.crypto import DEFAULT_HRP
from ledger.overlay import StateReader
from node.rpc_credit import U32Param, U64Param
from pallets.federation import api
from pallets.federation.storage import option_names
from rpc.encoding import address_text, hex0x
from rpc.registry import MethodRegistry, Params

OBJECT: Final = {"type": ["object", "null"]}
ARRAY: Final = {"type": "array"}


def _agreement_json(funds: list[int], record: dict[str, Any]) -> dict[str, Any]:
    return {
        "funds": funds,
        "options": record["options"],
        "option_names": option_names(record["options"]),
        "since": record["since"],
        "proposals": record["proposals"],
    }


def _ledger_json(debtor: int, creditor: int, row: dict[str, int]) -> dict[str, Any]:
    return {
        "debtor": debtor,
        "creditor": creditor,
        "shared": str(row["shared"]),
        "paid": str(row["paid"]),
        "owed": str(row["owed"]),
    }


def agreements_view(state: StateReader, fund_id: int | None) -> list[dict[str, Any]]:
    return [_agreement_json(row.pop("funds"), row) for row in api.all_agreements(state, fund_id)]


def between_view(state: StateReader, fund_id: int, partner: int) -> dict[str, Any]:
    found = api.between(state, fund_id, partner)
    record = found["agreement"]
    consents = []
    for side, other in ((fund_id, partner), (partner, fund_id)):
        pending = found["consents"][side]
        if pending is not None:
            consents.append(
                {
                    "fund": side,
                    "partner": other,
                    "options": pending["options"],
                    "option_names": option_names(pending["options"]),
                    "proposal": pending["proposal"],
                    "passed": pending["passed"],
                }
            )
    return {
        "funds": sorted((fund_id, partner)),
        "agreement": None
        if record is None
        else _agreement_json(sorted((fund_id, partner)), record),
        "consents": consents,
        "ledgers": [
            _ledger_json(fund_id, partner, found["ledgers"][fund_id]),
            _ledger_json(partner, fund_id, found["ledgers"][partner]),
        ],
    }


def debts_view(state: StateReader, fund_id: int | None) -> dict[str, Any]:
    rows = api.debts(state, fund_id)
    owed_by = sum(r["owed"] for r in rows if fund_id is None or r["debtor"] == fund_id)
    owed_to = sum(r["owed"] for r in rows if fund_id is None or r["creditor"] == fund_id)
    return {
        "fund": fund_id,
        "ledgers": [_ledger_json(r["debtor"], r["creditor"], r) for r in rows],
        "owed_by_fund": str(owed_by),
        "owed_to_fund": str(owed_to),
    }


def loss_view(state: StateReader, loan_id: int) -> dict[str, Any] | None:
    loss = api.loss(state, loan_id)
    if loss is None:
        return None
    share, parts = loss["share"], loss["parts"]
    return {
        "loan": loan_id,
        "fund": loss["fund"],
        "missing": str(loss["missing"]),
        "share": str(share),
        "kept_by_fund": str(loss["missing"] - share * len(parts)),
        "parts": [
            {"partner": partner, "paid": str(paid), "owed": str(owed)}
            for partner, paid, owed in parts
        ],
        "time": loss["time"],
    }


def split_view(
    state: StateReader, request_id: int, hrp: str = DEFAULT_HRP
) -> dict[str, Any] | None:
    found = api.split_of(state, request_id)
    if found is None:
        return None
    split_id, record = found
    return {
        "id": hex0x(split_id),
        "submitter": address_text(record["submitter"], hrp),
        "parts": [
            {"request": request, "fund": fund}
            for request, fund in zip(record["requests"], record["funds"], strict=True)
        ],
        "amount": str(record["amount"]),
        "created": record["created"],
    }


# ---------------------------------------------------------------- registration


class OptionalFundParams(Params):
    fund: U32Param | None = None


class PairParams(Params):
    fund: U32Param
    partner: U32Param

    @model_validator(mode="after")
    def _two_funds(self) -> PairParams:
        if self.fund == self.partner:
            raise ValueError("partner must be another fund than fund")
        return self


class LoanParams(Params):
    loan: U64Param


class RequestParams(Params):
    request: U64Param


def register_federation_queries(registry: MethodRegistry, *, hrp: str = DEFAULT_HRP) -> None:
    """Register the federation_* queries on ``registry`` (see module doc)."""

    @registry.pallet_query(
        "federation",
        "agreements",
        params=OptionalFundParams,
        result=ARRAY,
        description="Agreements in force (X1), all or one fund's, with their options.",
    )
    def federation_agreements(state: StateReader, params: OptionalFundParams) -> Any:
        return agreements_view(state, params.fund)

    @registry.pallet_query(
        "federation",
        "get",
        params=PairParams,
        result={"type": "object"},
        description="Two funds: their agreement, pending consents and loss-share ledgers (X1, X3).",
    )
    def federation_get(state: StateReader, params: PairParams) -> Any:
        return between_view(state, params.fund, params.partner)

    @registry.pallet_query(
        "federation",
        "debts",
        params=OptionalFundParams,
        result={"type": "object"},
        description="Loss shares assessed, paid and still owed between funds (X3).",
    )
    def federation_debts(state: StateReader, params: OptionalFundParams) -> Any:
        return debts_view(state, params.fund)

    @registry.pallet_query(
        "federation",
        "getLoss",
        params=LoanParams,
        result=OBJECT,
        description="How a written-off loan's loss was shared among federated funds (X3).",
    )
    def federation_get_loss(state: StateReader, params: LoanParams) -> Any:
        return loss_view(state, params.loan)

    @registry.pallet_query(
        "federation",
        "getSplit",
        params=RequestParams,
        result=OBJECT,
        description="The split credit a request is part of (X2), or null.",
    )
    def federation_get_split(state: StateReader, params: RequestParams) -> Any:
        return split_view(state, params.request, hrp)
