"""Commons hooks: the interest share (R1), redistribution at epoch end (R2), invariants.

``share_interest`` is a loans flow listener: when a repayment brings
interest into a fund's cash, ``interest * interest_commons_share // 10 000``
(rounded down: the remainder stays with the fund) moves on to the pool.

``on_epoch(N)`` runs after the health pallet's (23 > 22), so the scores are
the ones just published for the epoch that closed. It grants ``pool *
redistribution_share // 10 000`` to the eligible funds by largest remainder
(``redistribution``) and records it as round ``N``: the redistribution at
the start of epoch ``N``. Work: at most MAX_BIOREGIONS x
MAX_FUNDS_PER_BIOREGION funds, plus trimming rounds older than KEPT_ROUNDS.
"""

from __future__ import annotations

from ledger.overlay import StateReader
from pallets.balances import currency
from pallets.commons import api, issuance
from pallets.commons.events import Granted, InterestShared, Redistributed
from pallets.commons.redistribution import apportion, eligible_funds
from pallets.commons.storage import (
    GRANT,
    GRANTS,
    KEPT_ROUNDS,
    ROUND,
    ROUNDS,
    TOTAL,
    TOTALS,
)
from pallets.funds import api as funds_api
from pallets.support.context import CallContext
from pallets.support.declare import Hooks
from pallets.support.records import u32, u64
from pallets.support.storage import CorruptState
from pallets.system.storage import TIME

BPS_ONE = 10_000


def add_to_totals(
    ctx: CallContext, *, minted: int = 0, interest: int = 0, granted: int = 0
) -> None:
    # Running totals for the books; they saturate at the u64 maximum rather than
    # overflow (units cycle pool -> fund -> interest -> pool, so the cumulative
    # sums are not bounded by the supply, and a bad write would be a RuntimeFault
    # in a repayment or in the epoch hook).
    current = api.totals(ctx)
    for name, amount in (("minted", minted), ("from_interest", interest), ("granted", granted)):
        current[name] = min(current[name] + amount, currency.AMOUNT_MAX)
    TOTAL.put(ctx, TOTALS.wire(current))


def share_interest(ctx: CallContext, fund_id: int, kind: str, amount: int) -> None:
    """R1: the commons' share of interest a fund just received."""
    if kind != "interest":
        return
    share = amount * ctx.param("redistribution", "interest_commons_share") // BPS_ONE
    if share <= 0:
        return
    currency.transfer(ctx, funds_api.cash_account(fund_id), api.pool_account(), share)
    add_to_totals(ctx, interest=share)
    ctx.emit(InterestShared, fund=fund_id, amount=share)


def on_epoch(ctx: CallContext, new_epoch: int) -> None:
    """R2: redistribute a share of the pool to the eligible funds, by need."""
    pool = api.pool_balance(ctx)
    share_bps = ctx.param("redistribution", "redistribution_share")
    taken = pool * share_bps // BPS_ONE
    eligible = eligible_funds(ctx)
    weights = [(e.fund, e.need) for e in eligible]
    if taken == 0 or sum(need for _, need in weights) == 0:
        return
    shares = apportion(taken, weights)
    granted = 0
    for entry in eligible:
        amount = shares[entry.fund]
        if amount == 0:
            continue
        currency.transfer(ctx, api.pool_account(), funds_api.cash_account(entry.fund), amount)
        granted += amount
        record = {"bioregion": entry.bioregion, "need": entry.need, "amount": amount}
        GRANTS.put(ctx, u64(new_epoch) + u32(entry.fund), GRANT.wire(record))
        ctx.emit(
            Granted,
            epoch=new_epoch,
            fund=entry.fund,
            bioregion=entry.bioregion,
            need=entry.need,
            amount=amount,
        )
    funds = sum(1 for entry in eligible if shares[entry.fund] > 0)
    ROUNDS.put(
        ctx,
        new_epoch,
        ROUND.wire({"pool_before": pool, "taken": granted, "funds": funds, "share_bps": share_bps}),
    )
    add_to_totals(ctx, granted=granted)
    ctx.emit(Redistributed, epoch=new_epoch, taken=granted, funds=funds)
    _trim_rounds(ctx, new_epoch)


def _trim_rounds(ctx: CallContext, latest: int) -> None:
    """Drop rounds (and their grants) older than the last KEPT_ROUNDS epochs."""
    if latest < KEPT_ROUNDS:
        return
    oldest_kept = latest - KEPT_ROUNDS + 1
    old: list[int] = []
    for key, _ in ctx.iterate(ROUNDS.prefix):
        epoch = int.from_bytes(key[-8:], "big")
        if epoch >= oldest_kept:
            break
        old.append(epoch)
    for epoch in old:
        ROUNDS.delete(ctx, epoch)
        stale = [key[len(GRANTS.prefix) :] for key, _ in ctx.iterate(GRANTS.prefix + u64(epoch))]
        for key in stale:
            GRANTS.delete(ctx, key)


def try_state(state: StateReader) -> list[str]:
    """R3's cap holds for the current window; rounds granted what they took."""
    problems: list[str] = []
    try:
        window = issuance.status(state, TIME.get(state))
        kept = list(ROUNDS.items(state))
    except CorruptState as exc:
        return [f"commons: malformed state: {exc}"]
    if window["minted"] > window["cap"]:
        problems.append(f"R3: minted {window['minted']} this year, above the cap {window['cap']}")
    for epoch, raw in kept:
        if raw is None:
            continue
        record = ROUND.unwire(raw)
        total = 0
        for key, _ in state.iterate(GRANTS.prefix + u64(epoch)):
            grant = GRANTS.get(state, key[len(GRANTS.prefix) :])
            total += 0 if grant is None else GRANT.unwire(grant)["amount"]
        if total != record["taken"]:
            problems.append(f"R2: round {epoch} took {record['taken']}, granted {total}")
    return problems


HOOKS = Hooks(on_epoch=on_epoch, try_state=try_state)
