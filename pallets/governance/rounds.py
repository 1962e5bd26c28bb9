"""Governance rounds (G2, G5): block-time periods of ``governance.round_length``.

Round 0 starts at genesis. When a block's time reaches the current round's
end, ``on_initialize`` starts the next one at that end (or at the block's
time, if the chain was halted for longer than a round), with the length
and the voice-credit budget that the parameters have *then*: a change by
governance applies from the next round, so a round's budget never moves
under the votes already cast in it (I4).

A proposal made in round r is voted on in round r + 1 (it is announced for
the rest of round r, so that a proposal made just before a round ends still
gets a whole round of votes) and tallied once round r + 1 has ended.
"""

from __future__ import annotations

from typing import Any

from ledger.overlay import StateReader
from pallets.governance.events import RoundStarted
from pallets.governance.storage import BUDGETS, CURRENT_ROUND, ROUND
from pallets.support.context import CallContext
from pallets.support.declare import RuntimeFault
from pallets.support.params import param
from pallets.support.storage import StateWriter


def current_round(state: StateReader) -> dict[str, Any]:
    raw = CURRENT_ROUND.get(state)
    if raw is None:
        raise RuntimeFault("governance: no current round (genesis did not start one)")
    return ROUND.unwire(raw)


def current_index(state: StateReader) -> int:
    """The index of the round now (what the members pallet's ``ROUND`` hook asks)."""
    index: int = current_round(state)["index"]
    return index


def budget(state: StateReader, round_index: int) -> int:
    """Voice credits per member in ``round_index`` (0 for a round not started yet)."""
    value: int = BUDGETS.get(state, round_index)
    return value


def start_round(state: StateWriter, index: int, start: int) -> dict[str, Any]:
    length = param(state, "governance", "round_length")
    record = {"index": index, "start": start, "ends": start + length}
    CURRENT_ROUND.put(state, ROUND.wire(record))
    BUDGETS.put(state, index, param(state, "governance", "voice_credits"))
    return record


def advance(ctx: CallContext) -> None:
    """Start the next round when this block's time has reached the current one's end."""
    now = ctx.block.time
    current = current_round(ctx)
    if now < current["ends"]:
        return
    length = param(ctx, "governance", "round_length")
    start = current["ends"] if now < current["ends"] + length else now
    record = start_round(ctx, current["index"] + 1, start)
    ctx.emit(
        RoundStarted,
        round=record["index"],
        ends=record["ends"],
        budget=budget(ctx, record["index"]),
    )
