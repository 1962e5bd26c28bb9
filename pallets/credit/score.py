"""The assessment score (C5): deterministic, 0-100, from in-network facts only.

Four components, each 0-100, weighted by governance parameters in bps
(``credit.score_weight_*``, summing to 10 000):

* purpose: the fund-wide weight of the request's purpose
  (``credit.weight_<purpose>``, the technical guide's table by default);
* history: over the borrowers, the mean of ``100 * repaid / (repaid +
  written off)`` of their past credits, 50 for a borrower with none;
* endorsements: 20 per endorsing funder (not a borrower), at most 100;
* providers: 50 per provider named in the request who is one of the fund's
  funders (the fund's own providers involved), at most 100.

No personal data is an input: only accounts, counts and parameters.
"""

from __future__ import annotations

from typing import Any

from ledger.overlay import StateReader
from pallets.funds import api as funds_api
from pallets.loans.api import history
from pallets.support.params import SCORE_PARTS, param


def components(state: StateReader, request: dict[str, Any]) -> dict[str, int]:
    purpose = param(state, "credit", f"weight_{request['purpose']}")
    per_borrower = []
    for borrower in request["borrowers"]:
        repaid, lost = history(state, borrower)
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


def score(state: StateReader, request: dict[str, Any]) -> int:
    parts = components(state, request)
    weighted = sum(
        parts[name] * param(state, "credit", f"score_weight_{name}") for name in SCORE_PARTS
    )
    return min(100, weighted // 10_000)
