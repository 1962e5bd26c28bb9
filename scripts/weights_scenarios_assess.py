"""Worst-case scenario of the assessment calls (see weights_scenarios): a fund's model."""

from __future__ import annotations

from pallets.assess.model import COEF_MAX, N_COEFFICIENTS
from scripts.weights_scenarios import FUNDERS, REASON, SCENARIOS, Prepared, big_fund, sign
from tests.pallets.helpers import TestChain


@SCENARIOS.add(
    "assess.propose_fund_model", "every coefficient at its largest, in a fund of 64 funders"
)
def _propose_fund_model(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    return Prepared(
        [
            sign(
                chain,
                FUNDERS[i % 64],
                "assess.propose_fund_model",
                fund=fund,
                coefficients=[-COEF_MAX] * N_COEFFICIENTS,
                min_score=100,
                reason_hash=REASON,
            )
            for i in range(n)
        ]
    )
