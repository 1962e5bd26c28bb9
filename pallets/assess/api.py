"""What the credit pallet (and construct's wiring) use of the assessment models (C5).

Theory of operation
-------------------
A request is *made under* the models in force when it is submitted:
``pin`` records the fund's model version (0: none) and the network's (0: the
default model) in ``assess/scored/<request>``. Every later scoring of the
request (at validity, at each endorsement) uses those versions, so
coefficients installed later change only the scores of requests made after
their enactment; the record keeps the features and the probability of the
latest scoring, which is what the fitter learns from (node/assess).

Which coefficients: the fund's pinned model when it has one, else the
network's pinned model, else the default model (``model.legacy_coefficients``
of the parameters ``credit.score_weight_*`` read at scoring time, as the
earlier score did).

A fund's minimum score (C5) is ``check_minimum``: the credit pallet calls it
when a request becomes valid, so a request under the minimum is refused.

``carry_out_fund_model`` is connected to ``funds.proposal_handlers`` for the
``score_model`` kind (F8): a passed proposal installs the fund's coefficients
(a new version) and its minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ledger.overlay import KeyReader, StateReader
from pallets.assess.errors import BelowMinimumScore
from pallets.assess.events import FundModelInstalled
from pallets.assess.model import LEGACY_PARTS, legacy_coefficients
from pallets.assess.model import PAR_SCAN as PAR_SCAN  # what the credit pallet uses of the model
from pallets.assess.model import PURPOSE_ORDER as PURPOSE_ORDER
from pallets.assess.model import clamp_features as clamp_features
from pallets.assess.model import probability_ppm as probability_ppm
from pallets.assess.model import score_of as score_of
from pallets.assess.storage import (
    FUND_MODELS,
    FUND_VERSION,
    MIN_SCORE,
    MODEL,
    NETWORK_MODELS,
    NETWORK_VERSION,
    PENDING,
    PENDING_MODELS,
    SCORED,
    SCORED_REQUESTS,
)
from pallets.funds import api as funds_api
from pallets.support.context import CallContext
from pallets.support.declare import RuntimeFault
from pallets.support.params import param
from pallets.support.records import u32

PIN_WORK: Final = 4  # reads of both versions, the write of the record
SCORE_WORK: Final = 8  # the record, a model, four weights, the minimum, the write


def fund_model_key(fund_id: int, version: int) -> bytes:
    return u32(fund_id) + u32(version)


def pin(ctx: CallContext, request_id: int, fund_id: int) -> dict[str, Any]:
    """The request is made now: record the model versions in force (C5)."""
    record = {
        "fund": fund_id,
        "fund_version": FUND_VERSION.get(ctx, fund_id),
        "network_version": NETWORK_VERSION.get(ctx),
        "features": [],
        "ppm": 0,
        "score": 0,
        "height": 0,
    }
    SCORED_REQUESTS.put(ctx, request_id, SCORED.wire(record))
    return record


def scored(state: KeyReader, request_id: int) -> dict[str, Any] | None:
    """The request's models and its latest scoring, or None (made before models existed)."""
    raw = SCORED_REQUESTS.get(state, request_id)
    return None if raw is None else SCORED.unwire(raw)


def coefficients(state: KeyReader, record: dict[str, Any]) -> list[int]:
    """The coefficients a request made under ``record``'s versions is scored with."""
    if record["fund_version"]:
        raw = FUND_MODELS.get(state, fund_model_key(record["fund"], record["fund_version"]))
        if raw is None:
            raise RuntimeFault(f"fund {record['fund']} model {record['fund_version']} is missing")
        found: list[int] = MODEL.unwire(raw)["coefficients"]
        return found
    if record["network_version"]:
        raw = NETWORK_MODELS.get(state, record["network_version"])
        if raw is None:
            raise RuntimeFault(f"network model {record['network_version']} is missing")
        network: list[int] = MODEL.unwire(raw)["coefficients"]
        return network
    weights = {part: param(state, "credit", f"score_weight_{part}") for part in LEGACY_PARTS}
    return legacy_coefficients(weights)


def record_scoring(
    ctx: CallContext,
    request_id: int,
    record: dict[str, Any],
    features: Sequence[int],
    ppm: int,
    score: int,
) -> None:
    record = {**record, "features": list(features), "ppm": ppm, "score": score}
    record["height"] = ctx.block.height
    SCORED_REQUESTS.put(ctx, request_id, SCORED.wire(record))


def min_score(state: StateReader, fund_id: int) -> int:
    value: int = MIN_SCORE.get(state, fund_id)
    return value


def check_minimum(state: StateReader, fund_id: int, score: int) -> None:
    """C5: a fund may set a minimum score; a request under it is refused."""
    minimum = min_score(state, fund_id)
    if score < minimum:
        raise BelowMinimumScore(
            f"the request's score {score} is under fund {fund_id}'s minimum {minimum} "
            "(C5: the score may be a fund's minimum)"
        )


def carry_out_fund_model(
    ctx: CallContext, proposal_id: int, proposal: funds_api.Proposal
) -> str | None:
    """A passed ``score_model`` proposal (F8): install the coefficients and the minimum."""
    raw = PENDING_MODELS.get(ctx, proposal_id)
    if raw is None:
        return "the proposal has no model"
    pending = PENDING.unwire(raw)
    fund_id = pending["fund"]
    PENDING_MODELS.delete(ctx, proposal_id)
    version: int = FUND_VERSION.get(ctx, fund_id)
    if pending["coefficients"]:
        version += 1
        model = {
            "coefficients": pending["coefficients"],
            "enacted_height": ctx.block.height,
            "enacted_time": ctx.block.time,
        }
        FUND_MODELS.put(ctx, fund_model_key(fund_id, version), MODEL.wire(model))
        FUND_VERSION.put(ctx, fund_id, version)
    MIN_SCORE.put(ctx, fund_id, pending["min_score"])
    ctx.emit(
        FundModelInstalled,
        fund=fund_id,
        version=version if pending["coefficients"] else 0,
        min_score=pending["min_score"],
    )
    return None
