"""The assessment score (C5): deterministic, 0-100, from in-network facts only.

The score is the probability of repayment of a fixed-point logistic model
(pallets/assess/model.py), in whole percent. Its inputs are the features of
``pallets/assess/model.py`` FEATURES, computed here from the state and the
request, and nothing else: the purpose, the borrowers' repayment history
(``loans/history``: credits repaid and written off; the state keeps no late
days per borrower, so lateness enters through the fund's PAR30), the amount
against the fund's size and the borrowers' trust, the term and installments,
endorsements, providers, the number of co-borrowers and the fund's PAR30
over its ``PAR_SCAN`` oldest open loans (bounded work per request). Accounts
appear only as counts; no personal data is an input.

Which coefficients: those in force when the request was *made* (pinned at
submission by ``pallets.assess.api.pin``), so coefficients installed later
(by governance, G4, or by the fund's consent, F8) change only the scores of
requests made after their enactment. With none installed, the default model
reproduces the four hand-set weights ``credit.score_weight_*`` (40/30/20/10)
on the four components of the earlier score (``components``), which the
``credit_getRequest`` query still shows.

The score is computed when the request becomes valid (and a fund's minimum
score checked then, C5) and again at each endorsement; every scoring stores
its features and probability (``assess/scored/<request>``), the public
record the fitter learns from (node/assess).
"""

from __future__ import annotations

from typing import Any, Final

from ledger.overlay import StateReader
from pallets.assess import api as assess_api
from pallets.credit.storage import MAX_PROVIDERS
from pallets.funds import api as funds_api
from pallets.loans import api as loans_api
from pallets.loans.storage import MAX_BORROWERS, OPEN
from pallets.support.context import CallContext
from pallets.support.params import param
from pallets.support.records import u32
from pallets.support.wiring import Reader
from pallets.trust import api as trust_api

DAY: Final = 86_400
PAR_DAYS: Final = 30
# storage operations of one scoring, beyond what the calls already count: the
# pin, the model and the record, the fund and its cash, the PAR30 scan (a key
# and a loan each), each borrower's history and trust (T2, T5), each provider's seat
SCORE_WORK: Final = (
    assess_api.PIN_WORK
    + assess_api.SCORE_WORK
    + 4
    + 2 * assess_api.PAR_SCAN
    + MAX_BORROWERS * (2 + trust_api.FEDERATED_TRUST_WORK + 4)
    + MAX_PROVIDERS
    + 8
)


def components(state: StateReader, request: dict[str, Any]) -> dict[str, int]:
    """The four components of the earlier score (0-100 each), the default model's inputs."""
    purpose = param(state, "credit", f"weight_{request['purpose']}")
    per_borrower = []
    for borrower in request["borrowers"]:
        repaid, lost = loans_api.history(state, borrower)
        per_borrower.append(50 if repaid + lost == 0 else 100 * repaid // (repaid + lost))
    endorsements = min(100, 20 * len(request["endorsements"]))
    fund = request["fund"]
    providers = sum(1 for p in request["providers"] if funds_api.is_funder(state, fund, p))
    return {
        "purpose": purpose,
        "history": sum(per_borrower) // len(per_borrower),
        "endorsements": endorsements,
        "providers": min(100, 50 * providers),
    }


def par30_bps(state: StateReader, fund_id: int, now: int) -> int:
    """L7's PAR30 of the fund over its PAR_SCAN oldest open loans, in bps."""
    outstanding = late = 0
    for seen, (key, _) in enumerate(state.iterate(OPEN.prefix + u32(fund_id))):
        if seen >= assess_api.PAR_SCAN:
            break
        loan = loans_api.find_loan(state, int.from_bytes(key[-8:], "big"))
        if loan is None:
            continue
        outstanding += loan["outstanding"]
        since = loans_api.late_since(loan, now)
        if since is not None and now - since > PAR_DAYS * DAY:
            late += loan["outstanding"]
    return late * 10_000 // outstanding if outstanding else 0


def _bringable(state: Reader, request: dict[str, Any], account: bytes) -> int:
    """T5: what ``account`` can bring (its available trust plus its stake in this request)."""
    stake: int = sum(amount for who, amount in request["reserved"] if who == account)
    return trust_api.available(state, request["fund"], account) + stake


def features(state: Reader, request: dict[str, Any], now: int) -> list[int]:
    """The feature vector of ``request`` now (FEATURES order, clamped)."""
    parts = components(state, request)
    fund_id, amount = request["fund"], request["amount"]
    histories = [loans_api.history(state, b) for b in request["borrowers"]]
    fund = funds_api.get_fund(state, fund_id)
    size = funds_api.size(state, fund_id, fund)
    trust = sum(_bringable(state, request, b) for b in request["borrowers"])
    values = {
        "purpose_weight": parts["purpose"],
        "history_points": parts["history"],
        "endorsement_points": parts["endorsements"],
        "provider_points": parts["providers"],
        **{f"purpose_{p}": int(request["purpose"] == p) for p in assess_api.PURPOSE_ORDER},
        "credits_repaid": sum(repaid for repaid, _ in histories),
        "credits_written_off": sum(lost for _, lost in histories),
        "new_borrowers": sum(1 for repaid, lost in histories if repaid + lost == 0),
        "amount_to_size_bps": amount * 10_000 // size if size else 10_000,
        "amount_to_trust_bps": amount * 10_000 // trust if trust else 10_000,
        "term_days": request["term"] // DAY,
        "installments": request["installments"],
        "endorsements": len(request["endorsements"]),
        "providers": len(request["providers"]),
        "co_borrowers": len(request["borrowers"]) - 1,
        "fund_par30_bps": par30_bps(state, fund_id, now),
    }
    return assess_api.clamp_features(values)


def pin_model(ctx: CallContext, request_id: int, fund_id: int) -> None:
    """The request is made now: it keeps the models in force now (C5)."""
    assess_api.pin(ctx, request_id, fund_id)


def score(ctx: CallContext, request_id: int, request: dict[str, Any]) -> int:
    """C5: score the request with the model it was made under; store features and result."""
    record = assess_api.scored(ctx, request_id)
    if record is None:  # made before models were pinned: it takes the ones in force now
        record = assess_api.pin(ctx, request_id, request["fund"])
    values = features(ctx, request, ctx.block.time)
    ppm = assess_api.probability_ppm(assess_api.coefficients(ctx, record), values)
    result: int = assess_api.score_of(ppm)
    assess_api.record_scoring(ctx, request_id, record, values, ppm, result)
    return result


def score_at_validity(ctx: CallContext, request_id: int, request: dict[str, Any]) -> int:
    """C5 when the request becomes valid: the score, refused under the fund's minimum."""
    result = score(ctx, request_id, request)
    assess_api.check_minimum(ctx, request["fund"], result)
    return result
