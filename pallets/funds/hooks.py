"""Funds hooks: decide consent proposals when their period ends (F8), pay exits (F5).

Consent walks its time-ordered queue and stops at a fixed number of items
per block (hooks are not metered, so each bounds its own work); what is left
waits for the next block. Exits are paid fund by fund, in turn: from a
cursor the hook probes at most MAX_EXIT_PROBES fund ids (one counter read
each), skips funds with no queued exit or no cash, pays the exits of at most
MAX_EXIT_FUNDS_PER_BLOCK funds (in full or in part, ``api.pay_exits``) and
leaves the cursor after the last fund it looked at. Funds that cannot pay
are passed over, so they never hold up the others (issue 18: four such funds
of low id used to block every exit of every other fund); a fund with cash
and exits is reached within ceil(funds / MAX_EXIT_FUNDS_PER_BLOCK) blocks.

A passed proposal is carried out here: admit the candidate
(F4), change the rate (F7), pay the expense (F9; after any debt to federated
funds, X3), or hand a federation proposal to its pallet's handler (X1) — or
record why it failed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from ledger.overlay import StateReader
from pallets.balances import currency
from pallets.funds import api
from pallets.funds.events import ExpensePaid, ProposalFailed, ProposalPassed, RateChanged
from pallets.funds.storage import (
    ADMITTED,
    EXIT_COUNT,
    EXIT_CURSOR,
    EXIT_PROGRESS,
    EXIT_WAITING,
    EXITS,
    FUNDERS,
    FUNDS,
    HANDLED_KINDS,
    NEXT_FUND,
    PROPOSAL_DUE,
    PROPOSALS,
)
from pallets.funds.types import FundAccount, ProposalDue, ProposalKind, ProposalStatus
from pallets.support.context import CallContext
from pallets.support.declare import DispatchFailure, Hooks
from pallets.support.records import keys_under
from pallets.support.storage import CorruptState

MAX_PROPOSALS_PER_BLOCK: Final = 16
MAX_EXIT_FUNDS_PER_BLOCK: Final = 4
MAX_EXIT_PROBES: Final = 64


def on_finalize(ctx: CallContext) -> None:
    now = ctx.block.time
    due: list[ProposalDue] = []
    for queue_key in keys_under(ctx, PROPOSAL_DUE, b""):
        if queue_key.ends > now or len(due) >= MAX_PROPOSALS_PER_BLOCK:
            break
        due.append(queue_key)
    for queue_key in due:
        PROPOSAL_DUE.delete(ctx, queue_key)
        _decide(ctx, queue_key.proposal)
    _pay_exits_in_turn(ctx)


def _pay_exits_in_turn(ctx: CallContext) -> None:
    """F5: pay the exits of up to MAX_EXIT_FUNDS_PER_BLOCK funds that can pay, from the cursor."""
    if EXIT_WAITING.get(ctx) == 0:
        return
    total: int = NEXT_FUND.get(ctx)
    cursor: int = EXIT_CURSOR.get(ctx) % max(total, 1)
    visited = step = 0
    for step in range(min(MAX_EXIT_PROBES, total)):
        fund_id = (cursor + step) % total
        if EXIT_COUNT.get(ctx, fund_id) == 0 or not api.can_pay_exits(ctx, fund_id):
            continue
        api.pay_exits(ctx, fund_id)
        visited += 1
        if visited >= MAX_EXIT_FUNDS_PER_BLOCK:
            break
    EXIT_CURSOR.put(ctx, (cursor + step + 1) % max(total, 1))


def _decide(ctx: CallContext, proposal_id: int) -> None:
    proposal = PROPOSALS.get(ctx, proposal_id)
    if proposal is None or proposal.status != ProposalStatus.OPEN:
        return
    fund_id = proposal.fund
    fund = api.find_fund(ctx, fund_id)
    failure = None
    handler = dict(ctx.wiring.get(api.PROPOSAL_HANDLERS)).get(proposal.kind)
    if fund is None:
        failure = "the fund no longer exists"
    elif proposal.kind in HANDLED_KINDS:  # carried out by another pallet (X1, C5)
        if handler is None:
            failure = f"no pallet carries out {proposal.kind} proposals"
        else:
            failure = handler(ctx, proposal_id, proposal)
    elif proposal.kind == ProposalKind.NEW_FUNDER:
        if proposal.subject is None:  # pragma: no cover - funds.propose requires one
            raise CorruptState(f"new-funder proposal {proposal_id} names no candidate")
        ADMITTED.put(ctx, FundAccount(fund_id, proposal.subject), True)
    elif proposal.kind == ProposalKind.INTEREST_RATE:
        old, new = fund.rate_bps, proposal.rate_bps
        api.put_fund(ctx, fund_id, replace(fund, rate_bps=new))
        lowered_for_open = proposal.apply_to_open and new < old
        if lowered_for_open:
            for listener in ctx.wiring.get(api.RATE_LOWERED):
                listener(ctx, fund_id, new)
        ctx.emit(RateChanged, fund=fund_id, rate_bps=new, applies_to_open=int(lowered_for_open))
    else:  # expense (F9), paid from cash
        amount, payee = proposal.amount, proposal.subject
        if payee is None:  # pragma: no cover - funds.propose requires one
            raise CorruptState(f"expense proposal {proposal_id} names no payee")
        if api.settle_obligations(ctx, fund_id):  # X3: debts to federated funds come first
            failure = "the fund must first pay what it owes federated funds (X3)"
        elif amount > api.cash(ctx, fund_id):
            failure = f"the expense {amount} exceeds the fund's cash"
        else:
            try:
                currency.transfer(ctx, api.cash_account(fund_id), payee, amount)
            except DispatchFailure as exc:  # pragma: no cover - cash was checked above
                failure = str(exc)
            else:
                api.put_fund(ctx, fund_id, replace(fund, expenses=fund.expenses + amount))
                ctx.emit(ExpensePaid, fund=fund_id, payee=payee, amount=amount)
    status = ProposalStatus.FAILED if failure else ProposalStatus.PASSED
    PROPOSALS.put(ctx, proposal_id, replace(proposal, status=status))
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
    for fund_id, fund in funds:
        counted = sum(1 for _ in keys_under(state, FUNDERS, FundAccount.head(fund_id)))
        if counted != fund.funders:
            problems.append(f"funds: fund {fund_id} counts {fund.funders} funders, has {counted}")
    return problems + _exit_queue_problems(state)


def _exit_queue_problems(state: StateReader) -> list[str]:
    """F5 bookkeeping: the per-fund counters match the queue; a part-paid exit is queued."""
    problems = []
    queued: dict[int, int] = {}
    for queue_key in keys_under(state, EXITS, b""):
        queued[queue_key.fund] = queued.get(queue_key.fund, 0) + 1
    counters = {fund_id: count for fund_id, count in EXIT_COUNT.items(state)}
    if counters != queued:
        problems.append(f"funds: exit counters {counters} != queued exits {queued}")
    if EXIT_WAITING.get(state) != len(queued):
        problems.append(f"funds: {EXIT_WAITING.get(state)} funds waiting, queue has {len(queued)}")
    for queue_key, progress in EXIT_PROGRESS.items(state):
        if not EXITS.get(state, queue_key) or not 0 < progress.paid < progress.claim:
            problems.append(
                f"funds: exit progress {queue_key.encode().hex()} {progress} is not queued"
            )
    return problems


HOOKS = Hooks(on_finalize=on_finalize, try_state=try_state)
