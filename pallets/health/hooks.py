"""Health hooks: close each epoch's oracle round and measures (H2, H3); invariants.

``on_epoch(new)`` closes the epoch held in ``open_epoch`` (the previous one
that had blocks: when block time jumps over epochs, the skipped ones had no
observations and publish nothing). For each registered bioregion, sorted by
id:

1. its observations of the closed epoch, by oracles still authorized, give
   component-wise medians (``rounds``); with none, the last value stands;
   observations of any epoch before ``new`` are deleted (at most
   MAX_ORACLES per bioregion: one round);
2. the on-chain measures of the epoch (``measures``) are taken;
3. ``history/<bioregion><closed>`` records the components and score in
   force after the round, the number of observations, and the measures; the
   oldest entries beyond HISTORY_EPOCHS are dropped;
4. a ``HealthPublished`` event carries the same.

The hook runs before the commons pallet's (index 22 < 23), so redistribution
at the same epoch end uses the fresh scores. Work: at most MAX_BIOREGIONS x
(MAX_ORACLES observations + the measures' walk + a few history entries).
"""

from __future__ import annotations

from ledger.overlay import StateReader
from pallets.health import api, measures
from pallets.health.events import HealthPublished
from pallets.health.rounds import component_medians, weighted_score, weights
from pallets.health.storage import (
    BIOREGION_COUNT,
    BIOREGIONS,
    CURRENT,
    CURRENT_VALUE,
    FUND_BIOREGION,
    HISTORY,
    HISTORY_EPOCHS,
    MAX_BIOREGIONS,
    MAX_FUNDS_PER_BIOREGION,
    MAX_ORACLES,
    OBSERVATIONS,
    OPEN_EPOCH,
    PUBLISHED,
    REGION,
    REGION_FUNDS,
    pad,
    unpad,
)
from pallets.support.context import CallContext
from pallets.support.declare import Hooks
from pallets.support.records import u64
from pallets.support.storage import CorruptState


def on_epoch(ctx: CallContext, new_epoch: int) -> None:
    closed = OPEN_EPOCH.get(ctx)
    if new_epoch <= closed:
        return
    regions = api.bioregions(ctx)
    measured = measures.measure(ctx, {region: api.funds_in(ctx, region) for region in regions})
    component_weights = weights(ctx)
    for region in regions:
        observations = _take_observations(ctx, region, closed, new_epoch)
        standing = api.current(ctx, region)
        if observations:
            standing = {
                "components": component_medians(observations),
                "epoch": closed,
                "observations": len(observations),
            }
            CURRENT_VALUE.put(ctx, region, CURRENT.wire(standing))
        components = None if standing is None else standing["components"]
        score = None if components is None else weighted_score(components, component_weights)
        figures = measured[region]
        published = {
            "components": components,
            "score": score,
            "observations": len(observations),
            "credit_velocity": figures.credit_velocity,
            "participation": figures.participation,
            "funds": figures.funds,
        }
        HISTORY.put(ctx, pad(region) + u64(closed), PUBLISHED.wire(published))
        _trim_history(ctx, region, closed)
        ctx.emit(
            HealthPublished,
            bioregion=region,
            epoch=closed,
            observations=len(observations),
            components=components,
            score=score,
            credit_velocity=figures.credit_velocity,
            participation=figures.participation,
        )
    OPEN_EPOCH.put(ctx, new_epoch)


def _take_observations(
    ctx: CallContext, region: str, closed: int, new_epoch: int
) -> list[list[int]]:
    """The closed epoch's observations by still-authorized oracles; delete all before new."""
    authorized = set(api.oracles(ctx, region))
    prefix = OBSERVATIONS.prefix + pad(region)
    cut = len(OBSERVATIONS.prefix)
    stale: list[bytes] = []
    values: list[list[int]] = []
    for key, _ in ctx.iterate(prefix):
        epoch = int.from_bytes(key[len(prefix) : len(prefix) + 8], "big")
        if epoch >= new_epoch:
            break
        stale.append(key[cut:])
        if epoch == closed and key[-32:] in authorized:
            value = OBSERVATIONS.get(ctx, key[cut:])
            if value is not None:
                values.append(value)
    for key in stale:
        OBSERVATIONS.delete(ctx, key)
    return values


def _trim_history(ctx: CallContext, region: str, closed: int) -> None:
    if closed < HISTORY_EPOCHS:
        return
    oldest_kept = closed - HISTORY_EPOCHS + 1
    prefix = HISTORY.prefix + pad(region)
    old: list[bytes] = []
    for key, _ in ctx.iterate(prefix):
        if int.from_bytes(key[-8:], "big") >= oldest_kept:
            break
        old.append(key[len(HISTORY.prefix) :])
    for key in old:
        HISTORY.delete(ctx, key)


def try_state(state: StateReader) -> list[str]:
    """H1/H3 bookkeeping: counts, bounds, the fund index, observations of the open epoch."""
    problems: list[str] = []
    try:
        regions = list(BIOREGIONS.items(state))
        fund_regions = list(FUND_BIOREGION.items(state))
    except CorruptState as exc:
        return [f"health: malformed state: {exc}"]
    if len(regions) != BIOREGION_COUNT.get(state) or len(regions) > MAX_BIOREGIONS:
        problems.append(f"health: {len(regions)} bioregions, count {BIOREGION_COUNT.get(state)}")
    for region, raw in regions:
        record = REGION.unwire(raw)
        if len(record["oracles"]) > MAX_ORACLES:
            problems.append(f"health: {region} has too many oracles")
        if len(api.funds_in(state, region)) > MAX_FUNDS_PER_BIOREGION:
            problems.append(f"health: {region} has too many funds")
    known = {region for region, _ in regions}
    indexed = set()
    for key, _ in state.iterate(REGION_FUNDS.prefix):
        suffix = key[len(REGION_FUNDS.prefix) :]
        indexed.add((int.from_bytes(suffix[-4:], "big"), unpad(suffix[:32])))
    for fund_id, region in fund_regions:
        if region not in known:
            problems.append(f"health: fund {fund_id} is in unregistered bioregion {region}")
    if indexed != set(fund_regions):
        problems.append("health: region_fund index differs from fund_bioregion")
    open_epoch = OPEN_EPOCH.get(state)
    for key, _ in state.iterate(OBSERVATIONS.prefix):
        epoch = int.from_bytes(key[len(OBSERVATIONS.prefix) + 32 :][:8], "big")
        if epoch < open_epoch:
            problems.append(f"health: an observation of closed epoch {epoch} remains")
            break
    return problems


HOOKS = Hooks(on_epoch=on_epoch, try_state=try_state)
