"""The public repayment history a fitter learns from, read from a chain's state.

Theory of operation
-------------------
Every credit request that became valid was scored on chain (C5), and the
score's features, probability and the models it was made under are stored in
``assess/scored/<request>`` (pallets/assess/storage.py) when it is scored: so
the features of a loan *as they were when it was approved* (its last scoring
comes before its approval) are in the state, not recomputed from today's
state. A loan's outcome is its record in ``loans/loan/<id>`` (the loan of
request id): ``repaid`` (1) or ``written_off`` (0); active loans have no
outcome yet and are left out.

``read_history(get)`` reads them with ``get(key) -> bytes | None``: a state
in process (``state.get``) or a node's ``state_getStorage`` over JSON-RPC
(``rpc_getter``), at one block. It reads every request id below
``credit/next_id``: a handful of keys each.

The export (``write_export``/``read_export``) is JSON: the chain's genesis
hash and height, the feature names, the models in force now (network
coefficients, each fund's, so the report can compare with them), one row
per finished loan and one per request (purpose, co-borrowers and outcome,
for approval rates), so that ``credichain assess fit --file`` needs no node.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from ledger.codec import CodecError
from pallets.assess import api as assess_api
from pallets.assess.model import NAMES
from pallets.assess.storage import (
    FUND_VERSION,
    MIN_SCORE,
    NETWORK_VERSION,
)
from pallets.credit.storage import NEXT_REQUEST, REQUEST, REQUESTS
from pallets.funds.storage import NEXT_FUND
from pallets.loans.storage import LOAN, LOANS
from pallets.support.declare import RuntimeFault
from rpc.client import RpcClient

FORMAT: Final = "credichain-assess-history/1"
Getter = Callable[[bytes], bytes | None]
OUTCOMES: Final = {"repaid": 1, "written_off": 0}


class HistoryError(ValueError):
    """An export that cannot be read (names what is wrong)."""


@dataclass(frozen=True, slots=True)
class LoanRow:
    loan: int
    fund: int
    purpose: str
    start: int  # block time of the disbursement: the order the time split uses
    repaid: int  # 1 repaid in full, 0 written off
    features: list[int]
    ppm: int  # the probability the chain stored with the score
    score: int
    network_version: int
    fund_version: int


@dataclass(frozen=True, slots=True)
class RequestRow:
    request: int
    fund: int
    purpose: str
    co_borrowers: int
    status: str


@dataclass(slots=True)
class History:
    genesis: str
    height: int
    loans: list[LoanRow]
    requests: list[RequestRow]
    network: list[int]  # the network coefficients in force now
    funds: dict[int, list[int]]  # each fund's own coefficients in force now
    min_scores: dict[int, int]


class _Reader:
    """A ``KeyReader`` over a getter: storage items read one key at a time."""

    def __init__(self, get: Getter) -> None:
        self.get = get


def rpc_getter(client: RpcClient, at: bytes | None) -> Getter:
    def get(key: bytes) -> bytes | None:
        return client.storage(key, at)

    return get


def read_history(get: Getter, *, genesis: str = "", height: int = 0) -> History:
    state = _Reader(get)
    try:
        count: int = NEXT_REQUEST.get(state)
        loans: list[LoanRow] = []
        requests: list[RequestRow] = []
        for request_id in range(count):
            raw = REQUESTS.get(state, request_id)
            if raw is None:
                continue
            request = REQUEST.unwire(raw)
            requests.append(
                RequestRow(
                    request_id,
                    request["fund"],
                    request["purpose"],
                    len(request["borrowers"]) - 1,
                    request["status"],
                )
            )
            raw_loan = LOANS.get(state, request_id)
            scored = assess_api.scored(state, request_id)
            if raw_loan is None or scored is None:
                continue
            loan = LOAN.unwire(raw_loan)
            if loan["status"] not in OUTCOMES or not scored["features"]:
                continue
            loans.append(
                LoanRow(
                    request_id,
                    loan["fund"],
                    loan["purpose"],
                    loan["start"],
                    OUTCOMES[loan["status"]],
                    list(scored["features"]),
                    scored["ppm"],
                    scored["score"],
                    scored["network_version"],
                    scored["fund_version"],
                )
            )
        # The models in force now, read as the chain reads a new request's (C5).
        now = {"fund": 0, "fund_version": 0, "network_version": NETWORK_VERSION.get(state)}
        network = list(assess_api.coefficients(state, now))
        funds: dict[int, list[int]] = {}
        minimums: dict[int, int] = {}
        for fund_id in range(NEXT_FUND.get(state)):
            minimums[fund_id] = MIN_SCORE.get(state, fund_id)
            fund_version: int = FUND_VERSION.get(state, fund_id)
            if fund_version:
                own = {"fund": fund_id, "fund_version": fund_version, "network_version": 0}
                funds[fund_id] = list(assess_api.coefficients(state, own))
    except (CodecError, RuntimeFault) as exc:
        raise HistoryError(f"the state holds a record this version cannot read: {exc}") from exc
    return History(genesis, height, loans, requests, network, funds, minimums)


def write_export(history: History, path: Path) -> None:
    document = {
        "format": FORMAT,
        "genesis": history.genesis,
        "height": history.height,
        "features": list(NAMES),
        "network": history.network,
        "funds": {str(k): v for k, v in history.funds.items()},
        "min_scores": {str(k): v for k, v in history.min_scores.items()},
        "loans": [asdict(row) for row in history.loans],
        "requests": [asdict(row) for row in history.requests],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")


def read_export(path: Path) -> History:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HistoryError(f"{path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise HistoryError(f"{path}: not a {FORMAT} export")
    if document.get("features") != list(NAMES):
        raise HistoryError(
            f"{path}: its features {document.get('features')} are not this runtime's {list(NAMES)}"
        )
    try:
        return History(
            str(document["genesis"]),
            int(document["height"]),
            [LoanRow(**row) for row in document["loans"]],
            [RequestRow(**row) for row in document["requests"]],
            [int(c) for c in document["network"]],
            {int(k): [int(c) for c in v] for k, v in document["funds"].items()},
            {int(k): int(v) for k, v in document["min_scores"].items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HistoryError(f"{path}: a malformed field: {exc}") from exc
