"""RPC queries of the community-bank pallets: funds, trust, credit requests, loans.

Every method reads the state of a block (``at``, added by
``MethodRegistry.pallet_query``; the best block when omitted), so every
answer is historical on demand. Records are turned into JSON from their
declared types (``to_json``): accounts as bech32m with the chain's prefix,
amounts as decimal strings, hashes as 0x-hex, other integers as numbers.
An unknown fund, request or loan is ``null``.

``credit_redraw`` re-runs every stored reviewer draw of a request from its
stored seed and inputs (``pallets.credit.draw.draw_reviewers``) and says
whether the result matches the stored panel: anyone can check the draw.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import Field, field_validator

from ledger.crypto import DEFAULT_HRP
from ledger.overlay import StateReader
from pallets.construct import reader as runtime_reader
from pallets.credit.draw import draw_reviewers
from pallets.credit.score import components
from pallets.credit.storage import (
    APPROVAL,
    APPROVALS,
    BY_FUND,
    REQUEST,
    REQUESTS,
    STATUSES,
)
from pallets.funds import api as funds_api
from pallets.funds.storage import FUND, FUNDER, FUNDS
from pallets.loans import api as loans_api
from pallets.loans.storage import LOAN
from pallets.support.argtypes import ArgType, FixedBytes, Int, List, Optional, Record
from pallets.support.records import RecordType, u32
from pallets.system.storage import TIME
from pallets.trust.api import available as available_trust
from pallets.trust.api import in_use as trust_in_use
from pallets.trust.api import initial_trust, local_trust, trust_of
from rpc.encoding import Address, address_text, hex0x
from rpc.registry import MethodRegistry, NoParams, Params

MAX_LIST: Final = 1000
U32Param = Annotated[int, Field(strict=True, ge=0, le=2**32 - 1)]
U64Param = Annotated[int, Field(strict=True, ge=0, le=2**64 - 1)]
AMOUNT_LABELS: Final = frozenset({"amount"})


def to_json(kind: ArgType, value: Any, hrp: str) -> Any:
    """A stored value as JSON, by its declared type."""
    if value is None:
        return None
    if isinstance(kind, Optional):
        return to_json(kind.of, value, hrp)
    if isinstance(kind, FixedBytes):
        return address_text(value, hrp) if kind.label == "account" else hex0x(value)
    if isinstance(kind, Int):
        return str(value) if kind.label in AMOUNT_LABELS else value
    if isinstance(kind, List):
        return [to_json(kind.of, item, hrp) for item in value]
    if isinstance(kind, Record):
        return {
            name: to_json(field, item, hrp)
            for (name, field), item in zip(kind.fields, value, strict=True)
        }
    if isinstance(value, bytes):
        return hex0x(value)
    return value


def record_json(record: RecordType, value: dict[str, Any], hrp: str) -> dict[str, Any]:
    result: dict[str, Any] = to_json(record.record, record.wire(value), hrp)
    return result


def _amounts(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in data.items()
    }


# ---------------------------------------------------------------- views (pure)


def fund_view(state: StateReader, fund_id: int, hrp: str = DEFAULT_HRP) -> dict[str, Any] | None:
    fund = funds_api.find_fund(state, fund_id)
    if fund is None:
        return None
    funders = []
    for account in funds_api.funders(state, fund_id):
        record = funds_api.funder(state, fund_id, account)
        if record is not None:
            funders.append(
                {"account": address_text(account, hrp), **record_json(FUNDER, record, hrp)}
            )
    return {
        "id": fund_id,
        **record_json(FUND, fund, hrp),
        "cash_account": address_text(funds_api.cash_account(fund_id), hrp),
        "cash": str(funds_api.cash(state, fund_id)),
        "size": str(funds_api.size(state, fund_id, fund)),
        "funder_list": funders[:MAX_LIST],
        "pending_exits": len(funds_api.pending_exits(state, fund_id)),
    }


def fund_list(state: StateReader, hrp: str = DEFAULT_HRP) -> list[dict[str, Any]]:
    out = []
    for fund_id, raw in FUNDS.items(state):
        fund = FUND.unwire(raw)
        out.append(
            {
                "id": fund_id,
                "name": fund["name"],
                "status": fund["status"],
                "funders": fund["funders"],
                "contribution": str(fund["contribution"]),
                "rate_bps": fund["rate_bps"],
                "size": str(funds_api.size(state, fund_id, fund)),
            }
        )
        if len(out) >= MAX_LIST:
            break
    return out


def fund_report_view(
    state: StateReader, fund_id: int, hrp: str = DEFAULT_HRP
) -> dict[str, Any] | None:
    if funds_api.find_fund(state, fund_id) is None:
        return None
    now: int = TIME.get(state)
    report = loans_api.fund_report(state, fund_id, now)
    nested = ("par_bps", "by_purpose", "exits_in_arrears")
    return {
        **_amounts({k: v for k, v in report.items() if k not in nested}),
        "fund": fund_id,
        "funders": report["funders"],
        "utilization_bps": report["utilization_bps"],
        "par_bps": report["par_bps"],
        "by_purpose": {
            purpose: {**_amounts(row), "loans": row["loans"]}
            for purpose, row in report["by_purpose"].items()
        },
        "exits_pending": report["exits_pending"],
        "exits_in_arrears": [  # F5: unpaid past requested + exit_period, oldest first
            {
                "funder": address_text(row["funder"], hrp),
                "requested": row["requested"],
                "deadline": row["deadline"],
                "claim": str(row["claim"]),
                "paid": str(row["paid"]),
                "owed": str(row["owed"]),
            }
            for row in report["exits_in_arrears"]
        ],
        "time": now,
    }


def trust_view(state: StateReader, fund_id: int, account: bytes) -> dict[str, Any]:
    """T1-T5: the trust, what of it is in use, and what the account can still bring."""
    state = runtime_reader(state)
    return {
        "trust": str(trust_of(state, fund_id, account)),
        "in_use": str(trust_in_use(state, fund_id, account)),
        "available": str(available_trust(state, fund_id, account)),
        "local": str(local_trust(state, fund_id, account)),
        "initial": str(initial_trust(state, fund_id)),
    }


def request_view(
    state: StateReader, request_id: int, hrp: str = DEFAULT_HRP
) -> dict[str, Any] | None:
    raw = REQUESTS.get(state, request_id)
    if raw is None:
        return None
    request = REQUEST.unwire(raw)
    approval = APPROVALS.get(state, request_id)
    return {
        "id": request_id,
        **record_json(REQUEST, request, hrp),
        "score_components": components(state, request),
        "approval": None
        if approval is None
        else record_json(APPROVAL, APPROVAL.unwire(approval), hrp),
    }


def request_list(
    state: StateReader, fund_id: int, status: str | None, hrp: str = DEFAULT_HRP
) -> list[dict[str, Any]]:
    out = []
    prefix = BY_FUND.prefix + u32(fund_id)
    for key, _ in state.iterate(prefix):
        request_id = int.from_bytes(key[-8:], "big")
        raw = REQUESTS.get(state, request_id)
        if raw is None:
            continue
        request = REQUEST.unwire(raw)
        if status is not None and request["status"] != status:
            continue
        out.append(
            {
                "id": request_id,
                "status": request["status"],
                "amount": str(request["amount"]),
                "purpose": request["purpose"],
                "submitter": address_text(request["submitter"], hrp),
                "score": request["score"],
            }
        )
        if len(out) >= MAX_LIST:
            break
    return out


def redraw_view(
    state: StateReader, request_id: int, hrp: str = DEFAULT_HRP
) -> dict[str, Any] | None:
    raw = REQUESTS.get(state, request_id)
    if raw is None:
        return None
    request = REQUEST.unwire(raw)
    minimum = _min_reviewers(state)
    draws = []
    for height, seed, keep, excluded, panel, eligible in request["draws"]:
        pairs = [(a, t) for a, t in eligible]
        again = draw_reviewers(seed, pairs, request["amount"], minimum, keep) or []
        draws.append(
            {
                "height": height,
                "seed": hex0x(seed),
                "keep": [address_text(a, hrp) for a in keep],
                "excluded": [address_text(a, hrp) for a in excluded],
                "stored": [address_text(a, hrp) for a in panel],
                "recomputed": [address_text(a, hrp) for a in again],
                "matches": again == panel,
                "candidates": [
                    {"account": address_text(a, hrp), "trust": str(t)} for a, t in pairs
                ],
            }
        )
    return {
        "id": request_id,
        "candidates": [
            {"account": address_text(a, hrp), "trust": str(t)} for a, t in request["candidates"]
        ],
        "min_reviewers": minimum,
        "draws": draws,
    }


def _min_reviewers(state: StateReader) -> int:
    from pallets.support.params import param

    return param(state, "credit", "min_reviewers")


def loan_view(state: StateReader, loan_id: int, hrp: str = DEFAULT_HRP) -> dict[str, Any] | None:
    loan = loans_api.find_loan(state, loan_id)
    if loan is None:
        return None
    now: int = TIME.get(state)
    stored = record_json(LOAN, loan, hrp)
    loans_api.accrue_to(loan, now)
    since = loans_api.late_since(loan, now)
    return {
        "id": loan_id,
        **stored,
        "time": now,
        "interest_due_now": str(loan["interest_due"]),
        "owed_now": str(loan["interest_due"] + loan["outstanding"]),
        "late": since is not None,
        "late_since": since,
        "days_late": 0 if since is None else (now - since) // 86_400,
    }


def schedule_view(state: StateReader, loan_id: int) -> list[dict[str, Any]] | None:
    loan = loans_api.find_loan(state, loan_id)
    if loan is None:
        return None
    rows = loans_api.loan_schedule(loan)
    return [
        {"installment": i + 1, "due": due, "principal": str(principal), "interest": str(interest)}
        for i, (due, principal, interest) in enumerate(rows)
    ]


# ---------------------------------------------------------------- registration


class FundParams(Params):
    fund: U32Param


class TrustParams(Params):
    fund: U32Param
    address: Address


class RequestParams(Params):
    request: U64Param


class ListRequestsParams(Params):
    fund: U32Param
    status: str | None = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        return value


class LoanParams(Params):
    loan: U64Param


OBJECT: Final = {"type": ["object", "null"]}
ARRAY: Final = {"type": "array"}


def register_credit_queries(registry: MethodRegistry, *, hrp: str = DEFAULT_HRP) -> None:
    """Register funds_*, trust_get, credit_*, loans_* on ``registry`` (see module doc)."""

    @registry.pallet_query(
        "funds", "get", params=FundParams, result=OBJECT, description="A fund (F1-F10)."
    )
    def funds_get(state: StateReader, params: FundParams) -> Any:
        return fund_view(state, params.fund, hrp)

    @registry.pallet_query(
        "funds", "list", params=NoParams, result=ARRAY, description="Every fund, briefly."
    )
    def funds_list(state: StateReader, params: NoParams) -> Any:
        return fund_list(state, hrp)

    @registry.pallet_query(
        "funds",
        "report",
        params=FundParams,
        result=OBJECT,
        description="Fund report (L7): cash, outstanding, utilization, income, losses, PAR; "
        "exits pending and in arrears (F5).",
    )
    def funds_report(state: StateReader, params: FundParams) -> Any:
        return fund_report_view(state, params.fund, hrp)

    @registry.pallet_query(
        "trust",
        "get",
        params=TrustParams,
        result=OBJECT,
        description="An account's trust index at a fund (T1-T4), its trust in use and "
        "what it can still bring to a request (T5).",
    )
    def trust_get(state: StateReader, params: TrustParams) -> Any:
        return trust_view(state, params.fund, params.address)

    @registry.pallet_query(
        "credit",
        "getRequest",
        params=RequestParams,
        result=OBJECT,
        description="A credit request with its draw, verdicts and approval record (C1-C9).",
    )
    def credit_get_request(state: StateReader, params: RequestParams) -> Any:
        return request_view(state, params.request, hrp)

    @registry.pallet_query(
        "credit",
        "listRequests",
        params=ListRequestsParams,
        result=ARRAY,
        description="A fund's credit requests, optionally of one status: " + ", ".join(STATUSES),
    )
    def credit_list_requests(state: StateReader, params: ListRequestsParams) -> Any:
        return request_list(state, params.fund, params.status, hrp)

    @registry.pallet_query(
        "credit",
        "redraw",
        params=RequestParams,
        result=OBJECT,
        description="Re-run a request's reviewer draws from their stored seeds (C6).",
    )
    def credit_redraw(state: StateReader, params: RequestParams) -> Any:
        return redraw_view(state, params.request, hrp)

    @registry.pallet_query(
        "loans", "get", params=LoanParams, result=OBJECT, description="A loan (L1-L6)."
    )
    def loans_get(state: StateReader, params: LoanParams) -> Any:
        return loan_view(state, params.loan, hrp)

    @registry.pallet_query(
        "loans",
        "schedule",
        params=LoanParams,
        result={"type": ["array", "null"]},
        description="A loan's repayment schedule (L2) with interest if paid on time.",
    )
    def loans_schedule(state: StateReader, params: LoanParams) -> Any:
        return schedule_view(state, params.loan)
