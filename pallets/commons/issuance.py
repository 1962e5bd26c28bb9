"""Credit creation within a yearly cap (R3).

Theory of operation
-------------------
New units enter only through ``mint`` (the governance-origin call), into the
commons pool or a fund's cash, with ``balances.currency.mint``: the total
supply grows by exactly the amount.

**The year window** is chain time, never a wall clock: year ``y`` is the
block times in ``[genesis_time + y * 365 days, genesis_time + (y + 1) * 365
days)``. Years are 365 days of block time counted from genesis (no leap
days, no calendar): deterministic and the same on every node.

**The cap** for year ``y`` is ``max_issuance * base // 10 000`` where
``base`` is the total supply at the year's first mint. Nothing but ``mint``
changes the supply (R3), so that is also the supply at the start of the
year; fixing it once keeps a year's mints from compounding on each other.
The cap is read with the *current* ``max_issuance``, so a governance change
applies to the rest of the year. A mint that would take the year's total
past the cap is refused whole (never partly executed).
"""

from __future__ import annotations

from typing import Any, Final

from ledger.overlay import StateReader
from pallets.balances import currency
from pallets.commons.errors import IssuanceCapExceeded
from pallets.commons.storage import ISSUANCE, ISSUANCE_YEAR
from pallets.support.context import CallContext
from pallets.support.params import YEAR, param
from pallets.system.storage import GENESIS_TIME

BPS_ONE: Final = 10_000


def year_of(state: StateReader, time: int) -> int:
    """The issuance year of block time ``time`` (365-day years from genesis)."""
    start: int = GENESIS_TIME.get(state)
    return max(0, time - start) // YEAR


def status(state: StateReader, time: int) -> dict[str, Any]:
    """The year window at ``time``: year, base supply, minted, cap, room left."""
    year = year_of(state, time)
    raw = ISSUANCE_YEAR.get(state)
    window = None if raw is None else ISSUANCE.unwire(raw)
    if window is None or window["year"] != year:
        window = {"year": year, "base_supply": currency.total_issuance(state), "minted": 0}
    cap = param(state, "issuance", "max_issuance") * window["base_supply"] // BPS_ONE
    year_start = int(GENESIS_TIME.get(state)) + year * YEAR
    return {
        **window,
        "cap": cap,
        "remaining": max(0, cap - window["minted"]),
        "max_issuance_bps": param(state, "issuance", "max_issuance"),
        "year_start": year_start,
        "year_end": year_start + YEAR,
    }


def mint_within_cap(ctx: CallContext, dest: bytes, amount: int) -> dict[str, Any]:
    """Mint ``amount`` into ``dest`` if the year's cap allows; the updated window."""
    window = status(ctx, ctx.block.time)
    if window["minted"] + amount > window["cap"]:
        raise IssuanceCapExceeded(
            f"minting {amount} would make {window['minted'] + amount} this year, above the cap "
            f"{window['cap']} ({window['max_issuance_bps']} bps of {window['base_supply']})"
        )
    currency.mint(ctx, dest, amount)
    window["minted"] += amount
    ISSUANCE_YEAR.put(
        ctx,
        ISSUANCE.wire({k: window[k] for k in ("year", "base_supply", "minted")}),
    )
    return window
