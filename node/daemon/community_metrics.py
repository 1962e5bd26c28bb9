"""The community's own figures, read from one committed state for /metrics.

Theory of operation
-------------------
``community_figures(state, height)`` walks the credit book once: every fund
(active or forming), each fund's L7 report (``loans.api.fund_report``: open
loans, outstanding principal, principal 30+ days late), every registered
bioregion's health score (H2) and credit velocity of the open health epoch
(H3, ``health.measures.velocity``), the commons pool (R1), and each fund's
exit arrears (F5: claims unpaid past ``exit_period``). The result is
an immutable ``CommunityFigures``, integers only, that ``NodeMetrics`` caches
and serves: the Prometheus scrape runs in another thread and never touches
the trie.

The work grows with funds + open loans + bioregions (one trie read each,
roughly), so the node does not run it after every block on a large chain:
``NodeMetrics.refresh_community`` spaces the runs by a multiple of their own
cost (see there).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.overlay import StateReader
from pallets.commons import api as commons_api
from pallets.funds.storage import FUNDS
from pallets.funds.types import FundStatus
from pallets.health import api as health_api
from pallets.health import measures as health_measures
from pallets.loans import api as loans_api
from pallets.system.storage import TIME

BPS_ONE = 10_000


@dataclass(frozen=True, slots=True)
class BioregionFigures:
    """One bioregion: health in bps (None before its first oracle round), velocity in bps."""

    bioregion: str
    health_bps: int | None
    credit_velocity_bps: int
    funds: int

    def __post_init__(self) -> None:
        if self.health_bps is not None and not 0 <= self.health_bps <= BPS_ONE:
            raise ValueError(f"BioregionFigures.health_bps must be 0..10000, not {self.health_bps}")
        if not 0 <= self.credit_velocity_bps <= BPS_ONE:
            raise ValueError("BioregionFigures.credit_velocity_bps must be 0..10000")
        if self.funds < 0:
            raise ValueError("BioregionFigures.funds must be >= 0")


@dataclass(frozen=True, slots=True)
class CommunityFigures:
    """The credit book of the whole chain at ``height`` (base units and bps)."""

    height: int
    active_funds: int
    outstanding_credit: int
    # Principal of open loans 30+ days late, in bps of outstanding principal.
    par30_bps: int
    # Principal disbursed + repaid in the open health epoch by the funds of
    # every bioregion, over those funds' size (H3), in bps, capped at 10 000.
    credit_velocity_bps: int
    commons_pool: int
    commons_minted: int
    commons_granted: int
    bioregions: tuple[BioregionFigures, ...] = ()
    # F5: (fund, claims unpaid past exit_period) of every fund in arrears, by fund id.
    fund_arrears: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "height",
            "active_funds",
            "outstanding_credit",
            "commons_pool",
            "commons_minted",
            "commons_granted",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"CommunityFigures.{name} must be >= 0")
        for name in ("par30_bps", "credit_velocity_bps"):
            if not 0 <= getattr(self, name) <= BPS_ONE:
                raise ValueError(f"CommunityFigures.{name} must be 0..10000")
        names = [b.bioregion for b in self.bioregions]
        if names != sorted(set(names)):
            raise ValueError("CommunityFigures.bioregions must be sorted and unique")
        ids = [fund for fund, _ in self.fund_arrears]
        if ids != sorted(set(ids)) or any(owed <= 0 for _, owed in self.fund_arrears):
            raise ValueError("CommunityFigures.fund_arrears must be sorted, unique and positive")


def community_figures(state: StateReader, height: int) -> CommunityFigures:
    """Read every figure from ``state`` (the committed state of block ``height``)."""
    now: int = TIME.get(state)
    active = outstanding = at_risk = 0
    arrears: list[tuple[int, int]] = []
    for fund_id, fund in FUNDS.items(state):
        if fund.status == FundStatus.ACTIVE:
            active += 1
        report = loans_api.fund_report(state, fund_id, now)
        outstanding += report["outstanding"]
        at_risk += sum(row["par30"] for row in report["by_purpose"].values())
        if report["exit_arrears"] > 0:
            arrears.append((fund_id, report["exit_arrears"]))
    regions = []
    placed: set[int] = set()
    for region in health_api.bioregions(state):
        funds = health_api.funds_in(state, region)
        placed.update(funds)
        regions.append(
            BioregionFigures(
                bioregion=region,
                health_bps=health_api.health_score(state, region),
                credit_velocity_bps=health_measures.velocity(state, funds),
                funds=len(funds),
            )
        )
    totals = commons_api.totals(state)
    return CommunityFigures(
        height=height,
        active_funds=active,
        outstanding_credit=outstanding,
        par30_bps=at_risk * BPS_ONE // outstanding if outstanding else 0,
        credit_velocity_bps=health_measures.velocity(state, sorted(placed)),
        commons_pool=commons_api.pool_balance(state),
        commons_minted=totals["minted"],
        commons_granted=totals["granted"],
        bioregions=tuple(regions),
        fund_arrears=tuple(arrears),
    )
