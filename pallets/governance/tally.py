"""Tally and enactment (G4, G5): the governance hooks' work, bounded per block.

Theory of operation
-------------------
``tally_due`` holds ``(round, id)`` of every pending proposal. Once a round
has ended (the current round's index is past it), ``on_finalize`` tallies
its proposals in id order, at most ``MAX_TALLIES_PER_BLOCK`` per block; the
rest wait for the next block. Votes on a round close with it, so a tally
gives the same result in whichever block it happens.

A proposal **passes** when votes for > votes against and the distinct
voters reach quorum: ``voters × 10 000 ≥ quorum × members`` (members counted
at the tally; exactly at the threshold passes). A **validator change**
(``system.add_validator``/``remove_validator``) also needs ``for ≥
validator_change_ratio × against`` ("twice as many for as against":
exactly twice passes). Without quorum the outcome is ``no_quorum`` and the
deposit goes to the commons pool; otherwise the deposit returns to the
proposer, passed or not.

A passed proposal is enacted at ``decided + enactment_delay`` (block time):
``enact_due`` holds ``(time, id)``, and the hook dispatches the call with the
governance origin (``ctx.dispatch``), at most ``MAX_ENACTMENTS_PER_BLOCK``
per block. The outcome is recorded on the proposal: ``enacted`` or
``failed`` with the call's error (a failed call leaves no trace).
"""

from __future__ import annotations

from typing import Any, Final

from ledger.types import DispatchError
from pallets.balances import currency
from pallets.balances.currency import COMMONS, module_account
from pallets.governance import allowlist, api, rounds
from pallets.governance.events import (
    DepositForfeited,
    DepositReturned,
    Enacted,
    EnactmentFailed,
    Tallied,
)
from pallets.governance.storage import ENACT_DUE, MAX_ERROR, TALLY_DUE
from pallets.members.api import member_count
from pallets.support.context import CallContext
from pallets.support.declare import DispatchFailure, Origin

MAX_TALLIES_PER_BLOCK: Final = 16
MAX_ENACTMENTS_PER_BLOCK: Final = 4


def outcome(record: dict[str, Any], members: int, quorum_bps: int, ratio: int) -> str:
    """``passed``, ``rejected`` or ``no_quorum`` (G5; see the module doc)."""
    if record["voters"] * 10_000 < quorum_bps * members:
        return "no_quorum"
    votes_for, against = record["votes_for"], record["votes_against"]
    majority = votes_for > against
    if record["kind"] == "validator":
        majority = majority and votes_for >= ratio * against
    return "passed" if majority else "rejected"


def run_due(ctx: CallContext) -> None:
    """Tally ended rounds' proposals, then enact what is due (bounded)."""
    current = rounds.current_round(ctx)["index"]
    due: list[bytes] = []
    for key, _ in ctx.iterate(TALLY_DUE.prefix):
        queued = key[len(TALLY_DUE.prefix) :]
        if int.from_bytes(queued[:8], "big") >= current or len(due) >= MAX_TALLIES_PER_BLOCK:
            break
        due.append(queued)
    for queued in due:
        TALLY_DUE.delete(ctx, queued)
        tally(ctx, int.from_bytes(queued[8:], "big"))
    now = ctx.block.time
    ready: list[bytes] = []
    for key, _ in ctx.iterate(ENACT_DUE.prefix):
        queued = key[len(ENACT_DUE.prefix) :]
        if int.from_bytes(queued[:8], "big") > now or len(ready) >= MAX_ENACTMENTS_PER_BLOCK:
            break
        ready.append(queued)
    for queued in ready:
        ENACT_DUE.delete(ctx, queued)
        enact(ctx, int.from_bytes(queued[8:], "big"))


def tally(ctx: CallContext, proposal_id: int) -> None:
    record = api.find_proposal(ctx, proposal_id)
    if record is None or record["status"] != "pending":
        return
    members = member_count(ctx)
    result = outcome(
        record,
        members,
        ctx.param("governance", "quorum"),
        ctx.param("governance", "validator_change_ratio"),
    )
    now = ctx.block.time
    record.update(status=result, members=members, decided=now)
    _settle_deposit(ctx, proposal_id, record, refund=result != "no_quorum")
    if result == "passed":
        record["enact_at"] = now + ctx.param("governance", "enactment_delay")
        ENACT_DUE.put(ctx, api.pair(record["enact_at"], proposal_id), True)
    api.put_proposal(ctx, proposal_id, record)
    ctx.emit(
        Tallied,
        proposal=proposal_id,
        outcome=result,
        votes_for=record["votes_for"],
        votes_against=record["votes_against"],
        voters=record["voters"],
        members=members,
    )


def _settle_deposit(
    ctx: CallContext, proposal_id: int, record: dict[str, Any], *, refund: bool
) -> None:
    amount = record["deposit"]
    record["deposit_state"] = "refunded" if refund else "forfeited"
    if amount == 0:
        return
    source = api.deposit_account()
    if refund:
        currency.transfer(ctx, source, record["proposer"], amount)
        ctx.emit(DepositReturned, proposal=proposal_id, proposer=record["proposer"], amount=amount)
    else:
        currency.transfer(ctx, source, module_account(COMMONS), amount)
        ctx.emit(DepositForfeited, proposal=proposal_id, amount=amount)


def enact(ctx: CallContext, proposal_id: int) -> None:
    record = api.find_proposal(ctx, proposal_id)
    if record is None or record["status"] != "passed":
        return
    error: DispatchError | None
    try:
        proposed = allowlist.check_proposed_call(record["call"], ctx.wiring)
    except DispatchFailure as failure:  # e.g. the pallet left the runtime since
        error = failure.error
    else:
        error = ctx.dispatch(proposed.definition, proposed.args, Origin.governance())
    record["enacted"] = ctx.block.height
    if error is None:
        record["status"] = "enacted"
        ctx.emit(Enacted, proposal=proposal_id)
    else:
        text = f"{error.pallet}.{error.code} [{error.rule}]: {error.message}"[:MAX_ERROR]
        record.update(status="failed", error=text)
        ctx.emit(EnactmentFailed, proposal=proposal_id, error=text)
    api.put_proposal(ctx, proposal_id, record)
