"""Assessment calls (C5): network coefficients by governance (G4), a fund's by consent (F8)."""

from __future__ import annotations

from pallets.assess.errors import BadCoefficients
from pallets.assess.events import FundModelProposed, NetworkModelInstalled
from pallets.assess.model import check_coefficients
from pallets.assess.storage import (
    COEFFICIENTS,
    FUND_COEFFICIENTS,
    MODEL,
    NETWORK_MODELS,
    NETWORK_VERSION,
    PENDING,
    PENDING_MODELS,
)
from pallets.funds import api as funds_api
from pallets.support.argtypes import HASH, U8, U32
from pallets.support.context import CallContext
from pallets.support.declare import GOVERNANCE, CallSet

calls = CallSet("assess")

MAX_SCORE = 100


@calls.call(0, args=(("coefficients", COEFFICIENTS),), weight=4, origin=GOVERNANCE)
def set_network_model(ctx: CallContext, coefficients: list[int]) -> None:
    """C5/G4: install network coefficients (micro-units: the intercept, then one per feature,
    in the order of ``pallets/assess/model.py`` FEATURES). Requests made from the next block
    on are scored with them; requests made before keep the model they were made under.
    """
    problem = check_coefficients(coefficients)
    if problem is not None:  # pragma: no cover - the argument type already bounds them
        raise BadCoefficients(problem)
    version: int = NETWORK_VERSION.get(ctx) + 1
    model = {
        "coefficients": coefficients,
        "enacted_height": ctx.block.height,
        "enacted_time": ctx.block.time,
    }
    NETWORK_MODELS.put(ctx, version, MODEL.wire(model))
    NETWORK_VERSION.put(ctx, version)
    ctx.emit(NetworkModelInstalled, version=version)


@calls.call(
    1,
    args=(
        ("fund", U32),
        ("coefficients", FUND_COEFFICIENTS),
        ("min_score", U8),
        ("reason_hash", HASH),
    ),
    weight=24,
)
def propose_fund_model(
    ctx: CallContext, fund: int, coefficients: list[int], min_score: int, reason_hash: bytes
) -> None:
    """C5/F8: a funder proposes the fund's own coefficients (or none: [] keeps the model in
    force) and its minimum score (0-100; 0 for none). It passes when consent_period ends
    without an objection (``funds.object``), and applies to requests made afterwards.
    """
    funds_api.get_fund(ctx, fund)
    funds_api.require_funder(ctx, fund, ctx.signer)
    if coefficients:
        problem = check_coefficients(coefficients)
        if problem is not None:
            raise BadCoefficients(problem)
    if min_score > MAX_SCORE:
        raise BadCoefficients(f"min_score {min_score}: a score is 0-{MAX_SCORE}")
    proposal = funds_api.open_proposal(
        ctx, fund, funds_api.ProposalKind.SCORE_MODEL, reason_hash=reason_hash
    )
    pending = {"fund": fund, "coefficients": coefficients, "min_score": min_score}
    PENDING_MODELS.put(ctx, proposal, PENDING.wire(pending))
    ctx.emit(FundModelProposed, fund=fund, proposal=proposal, min_score=min_score)
