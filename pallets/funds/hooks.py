"""Funds hooks: decide consent proposals when their period ends (F8), pay exits (F5).

Both walk a time-ordered queue and stop at a fixed number of items per block
(hooks are not metered, so each bounds its own work); what is left waits for
the next block. A passed proposal is carried out here: admit the candidate
(F4), change the rate (F7), pay the expense (F9; after any debt to federated
funds, X3), or hand a federation proposal to its pallet's handler (X1) — or
record why it failed.
"""

from __future__ import annotations

from typing import Final

from ledger.overlay import StateReader
from pallets.balances import currency
from pallets.funds import api
from pallets.funds.events import ExpensePaid, ProposalFailed, ProposalPassed, RateChanged
from pallets.funds.records import u32
from pallets.funds.storage import (
    ADMITTED,
    EXITS,
    FEDERATION_KINDS,
    FUND,
    FUNDERS,
    FUNDS,
    PROPOSAL,
    PROPOSAL_DUE,
    PROPOSALS,
)
from pallets.runtime.context import CallContext
from pallets.runtime.declare import DispatchFailure, Hooks
from pallets.runtime.storage import CorruptState

MAX_PROPOSALS_PER_BLOCK: Final = 16
MAX_EXIT_FUNDS_PER_BLOCK: Final = 4


def on_finalize(ctx: CallContext) -> None:
    now = ctx.block.time
    due: list[bytes] = []
    for key, _ in ctx.iterate(PROPOSAL_DUE.prefix):
        ends = int.from_bytes(key[len(PROPOSAL_DUE.prefix) :][:8], "big")
        if ends > now or len(due) >= MAX_PROPOSALS_PER_BLOCK:
            break
        due.append(key[len(PROPOSAL_DUE.prefix) :])
    for queue_key in due:
        PROPOSAL_DUE.delete(ctx, queue_key)
        _decide(ctx, int.from_bytes(queue_key[8:], "big"))
    funds_waiting: list[int] = []
    for key, _ in ctx.iterate(EXITS.prefix):
        fund_id = int.from_bytes(key[len(EXITS.prefix) :][:4], "big")
        if fund_id not in funds_waiting:
            funds_waiting.append(fund_id)
        if len(funds_waiting) >= MAX_EXIT_FUNDS_PER_BLOCK:
            break
    for fund_id in funds_waiting:
        api.pay_exits(ctx, fund_id)


def _decide(ctx: CallContext, proposal_id: int) -> None:
    raw = PROPOSALS.get(ctx, proposal_id)
    if raw is None:
        return
    proposal = PROPOSAL.unwire(raw)
    if proposal["status"] != "open":
        return
    fund_id = proposal["fund"]
    fund = api.find_fund(ctx, fund_id)
    failure = None
    handler = api.PROPOSAL_HANDLERS.get(proposal["kind"])
    if fund is None:
        failure = "the fund no longer exists"
    elif proposal["kind"] in FEDERATION_KINDS:  # carried out by the federation pallet (X1)
        if handler is None:
            failure = f"no pallet carries out {proposal['kind']} proposals"
        else:
            failure = handler(ctx, proposal_id, proposal)
    elif proposal["kind"] == "new_funder":
        ADMITTED.put(ctx, u32(fund_id) + proposal["subject"], True)
    elif proposal["kind"] == "interest_rate":
        old, new = fund["rate_bps"], proposal["rate_bps"]
        fund["rate_bps"] = new
        api.put_fund(ctx, fund_id, fund)
        lowered_for_open = proposal["apply_to_open"] and new < old
        if lowered_for_open:
            for listener in api.RATE_LOWERED_LISTENERS:
                listener(ctx, fund_id, new)
        ctx.emit(RateChanged, fund=fund_id, rate_bps=new, applies_to_open=int(lowered_for_open))
    else:  # expense (F9), paid from cash
        amount = proposal["amount"]
        if api.settle_obligations(ctx, fund_id):  # X3: debts to federated funds come first
            failure = "the fund must first pay what it owes federated funds (X3)"
        elif amount > api.cash(ctx, fund_id):
            failure = f"the expense {amount} exceeds the fund's cash"
        else:
            try:
                currency.transfer(ctx, api.cash_account(fund_id), proposal["subject"], amount)
            except DispatchFailure as exc:  # pragma: no cover - cash was checked above
                failure = str(exc)
            else:
                fund["expenses"] += amount
                api.put_fund(ctx, fund_id, fund)
                ctx.emit(ExpensePaid, fund=fund_id, payee=proposal["subject"], amount=amount)
    proposal["status"] = "failed" if failure else "passed"
    PROPOSALS.put(ctx, proposal_id, PROPOSAL.wire(proposal))
    if failure:
        ctx.emit(ProposalFailed, proposal=proposal_id, reason=failure[:128])
    else:
        ctx.emit(ProposalPassed, proposal=proposal_id)


def try_state(state: StateReader) -> list[str]:
    """Fund bookkeeping: each fund's funder count matches its funder records."""
    problems = []
    try:
        funds = list(FUNDS.items(state))
    except CorruptState as exc:  # e.g. a negative outstanding: reported, not raised
        return [f"I2: a fund record is malformed or negative: {exc}"]
    for fund_id, raw in funds:
        fund = FUND.unwire(raw)
        counted = sum(1 for _ in state.iterate(FUNDERS.prefix + u32(fund_id)))
        if counted != fund["funders"]:
            problems.append(
                f"funds: fund {fund_id} counts {fund['funders']} funders, has {counted}"
            )
    return problems


HOOKS = Hooks(on_finalize=on_finalize, try_state=try_state)
