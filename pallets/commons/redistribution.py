"""Redistribution of the commons pool by need, by largest remainder (R2).

Theory of operation
-------------------
At each epoch end the commons hook takes ``taken = pool *
redistribution_share // 10 000`` from the pool and grants it to the
**eligible funds**: active funds placed in a bioregion (health pallet) whose
bioregion has a health value. Each such fund weighs its bioregion's
**need**, ``10 000 - health``. A bioregion without any health value yet
takes no part (its need is unknown: setting up oracles comes first), and a
bioregion at full health (need 0) receives nothing.

**Largest remainder** (Hamilton's method), all in integers: with weights
``w_i`` summing to ``W``, fund ``i`` first gets ``floor(taken * w_i / W)``
and keeps the remainder ``r_i = taken * w_i mod W``. The units left over
(``taken`` minus the floors, always fewer than the number of funds) go one
each to the funds with the largest ``r_i``; equal remainders are broken by
the smaller fund id. So the grants sum to ``taken`` exactly, and a needier
bioregion's fund never receives less than a healthier one's.

Worked example (docs/health.md): 100 units, needs 5000, 3000, 3000 (funds
1, 2, 3), W = 11 000: floors 45, 27, 27 (sum 99), remainders 5000, 3000,
3000 (in units of 1/11 000); the one unit left goes to fund 1: 46, 27, 27.

If no fund is eligible, or ``taken`` is zero, nothing leaves the pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ledger.overlay import StateReader
from pallets.funds import api as funds_api
from pallets.health import api as health_api

BPS_ONE: Final = 10_000


def apportion(total: int, weights: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Split ``total`` over ``(key, weight)`` by largest remainder; ties to the smaller key.

    Keys must be distinct and weights non-negative; the shares sum to
    ``total`` exactly when any weight is positive, and are all zero otherwise.
    """
    keys = [key for key, _ in weights]
    if len(set(keys)) != len(keys):
        raise ValueError("apportion: repeated key")
    if any(weight < 0 for _, weight in weights) or total < 0:
        raise ValueError("apportion: negative weight or total")
    whole = sum(weight for _, weight in weights)
    if whole == 0:
        return dict.fromkeys(keys, 0)
    shares = {key: total * weight // whole for key, weight in weights}
    left = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda kw: (-(total * kw[1] % whole), kw[0]))
    for key, _ in by_remainder[:left]:
        shares[key] += 1
    return shares


@dataclass(frozen=True, slots=True)
class Eligible:
    fund: int
    bioregion: str
    need: int  # bps


def eligible_funds(state: StateReader) -> list[Eligible]:
    """Active funds in bioregions that have a health value, sorted by fund id."""
    out: list[Eligible] = []
    for region in health_api.bioregions(state):
        score = health_api.health_score(state, region)
        if score is None:
            continue
        need = BPS_ONE - min(score, BPS_ONE)
        for fund_id in health_api.funds_in(state, region):
            fund = funds_api.find_fund(state, fund_id)
            if fund is not None and fund.status == funds_api.FundStatus.ACTIVE:
                out.append(Eligible(fund_id, region, need))
    return sorted(out, key=lambda e: e.fund)
