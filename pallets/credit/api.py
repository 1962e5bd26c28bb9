"""What the credit pallet offers others: the hook through which funds lend
reviewers, and what follows a person to a new key.

``LENDER_SOURCES`` (connected in pallets/construct.py; the federation pallet's
agreements, X1): given a fund, the funds that lend it their funders as
reviewers when its own cannot cover a request (C6). With none connected a
request is reviewed by its own fund's funders only.

A person's resubmission cooldowns (C6) follow them to a new key (G1:
``move_cooldowns``, connected to the members pallet's key change), so that a
key change does not re-roll a draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ledger.overlay import StateReader
from pallets.credit.storage import COOLDOWNS, MAX_COOLDOWNS_MOVED
from pallets.support.context import CallContext
from pallets.support.wiring import Hook

# (ctx, fund) -> the funds that lend their funders as reviewers to it (C6, X1).
LenderSource = Callable[[CallContext, int], list[int]]
LENDER_SOURCES: Final = Hook[LenderSource](
    "credit.lender_sources", "the funds that lend a fund their funders as reviewers (C6, X1)"
)


def _cooldowns(state: StateReader, account: bytes) -> list[tuple[bytes, int]]:
    """(fund key, until) of the account's cooldowns, at most MAX_COOLDOWNS_MOVED + 1."""
    found: list[tuple[bytes, int]] = []
    for key, _ in state.iterate(COOLDOWNS.prefix + account):
        fund = key[-4:]
        found.append((fund, COOLDOWNS.get(state, account + fund)))
        if len(found) > MAX_COOLDOWNS_MOVED:
            break
    return found


def cooldowns_blocker(state: StateReader, old: bytes, new: bytes) -> str | None:
    """Why ``old``'s cooldowns cannot follow it to ``new`` (too many), or None."""
    if len(_cooldowns(state, old)) > MAX_COOLDOWNS_MOVED:
        return f"cooldowns at more than {MAX_COOLDOWNS_MOVED} funds"
    return None


def move_cooldowns(ctx: CallContext, old: bytes, new: bytes) -> None:
    """G1: the resubmission cooldowns (C6) of ``old`` become ``new``'s, the later one kept."""
    for fund, until in _cooldowns(ctx, old):
        COOLDOWNS.delete(ctx, old + fund)
        current: int = COOLDOWNS.get(ctx, new + fund)
        COOLDOWNS.put(ctx, new + fund, max(until, current))
