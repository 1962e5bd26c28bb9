"""Loss sharing (X3): shares of a write-off, debts, and paying them first from later cash.

Theory of operation
-------------------
When fund F writes off a loan with ``L`` principal missing (the loans
pallet calls ``share_loss`` after booking the loss), every fund that shares
losses with F (``k`` of them, in fund-id order) owes F ``share = L // (k+1)``.
The remainder ``L - k * share`` stays with F, which therefore bears
``share + remainder``. Each partner first settles what it already owed
(older debts come first); if it then owes nothing, it pays
``min(share, cash)`` to F at once; the rest of its share is a *debt*.
Worked example (docs/credit.md): L = 1 000, k = 2: shares 333 each, F bears
334; a partner with 120 cash pays 120 and owes 213.

A debt is paid first from the debtor's later cash, in two ways, both bounded:

* ``settle`` runs before any money leaves the debtor fund (an exit, an
  expense, a disbursement: ``funds.api.settle_obligations``); while it still
  owes, exits wait and a disbursement is refused (``funds.DebtsPending``);
* funds that owe wait in a FIFO (``debtor_queue``, by the height they were
  queued); ``sweep`` in ``on_initialize`` settles the first
  ``MAX_SWEEP_PER_BLOCK`` of them and queues again those that still owe, so
  cash that came in (repayments, new funders, shares received) goes to
  their creditors within a bounded number of blocks.

A fund that owes several funds pays them in creditor-id order.

Books (F3 and I1): a share moves cash from one fund's cash account to
another's, so the partner's size (cash + outstanding) falls by what it paid
and the losing fund's rises by what it received; a debt is in neither size
until it is paid (it is not cash). Every unit stays in some balance, so I1
holds; ``hooks.try_state`` checks the share ledgers against the stored
losses (see there).
"""

from __future__ import annotations

from typing import Final

from ledger import codec
from ledger.codec import CodecError
from pallets.balances import currency
from pallets.federation.agreements import partners
from pallets.federation.events import DebtPaid, LossShared
from pallets.federation.storage import (
    DEBTOR_QUEUE,
    DEBTS,
    LOSS,
    LOSSES,
    LOSSES_SHARED,
    QUEUED,
    SHARES,
    pair,
)
from pallets.funds import api as funds_api
from pallets.support.argtypes import AMOUNT, ArgError
from pallets.support.context import CallContext
from pallets.support.records import u32, u64
from pallets.support.storage import CorruptState

MAX_SETTLE: Final = 8  # debts one settlement pays (8 ops each: within OBLIGATION_WORK)
MAX_SWEEP_PER_BLOCK: Final = 16  # debtor funds the sweep visits per block


def _amount(key: bytes, raw: bytes) -> int:
    try:
        value: int = AMOUNT.check(codec.decode(raw), "federation.debt")
    except (CodecError, ArgError) as exc:
        raise CorruptState(f"state key 0x{key.hex()}: {exc}") from exc
    return value


def share_loss(ctx: CallContext, fund_id: int, loan_id: int, missing: int) -> None:
    """X3: each loss-sharing partner pays (or owes) ``missing // (k + 1)`` to the fund."""
    sharing = [partner for partner, options in partners(ctx, fund_id) if options & LOSSES]
    share = missing // (len(sharing) + 1)
    if not sharing or share == 0:
        return  # nobody shares, or L < k + 1: the whole loss is the remainder
    parts = []
    for partner in sharing:
        owes_already = settle(ctx, partner)
        paid = 0 if owes_already else min(share, funds_api.cash(ctx, partner))
        if paid:
            currency.transfer(
                ctx, funds_api.cash_account(partner), funds_api.cash_account(fund_id), paid
            )
        owed = share - paid
        shared_total, paid_total = SHARES.get(ctx, pair(partner, fund_id))
        SHARES.put(ctx, pair(partner, fund_id), [shared_total + share, paid_total + paid])
        if owed:
            DEBTS.put(ctx, pair(partner, fund_id), DEBTS.get(ctx, pair(partner, fund_id)) + owed)
            _queue(ctx, partner)
        parts.append([partner, paid, owed])
        ctx.emit(
            LossShared,
            loan=loan_id,
            fund=fund_id,
            partner=partner,
            share=share,
            paid=paid,
            owed=owed,
        )
    record = {
        "fund": fund_id,
        "missing": missing,
        "share": share,
        "parts": parts,
        "time": ctx.block.time,
    }
    LOSSES_SHARED.put(ctx, loan_id, LOSS.wire(record))


def _queue(ctx: CallContext, debtor: int) -> None:
    if not QUEUED.contains(ctx, debtor):
        DEBTOR_QUEUE.put(ctx, u64(ctx.block.height) + u32(debtor), 1)
        QUEUED.put(ctx, debtor, ctx.block.height)


def settle(ctx: CallContext, debtor: int) -> bool:
    """Pay the debtor's debts from its cash, oldest creditor id first; whether it still owes."""
    rows: list[tuple[bytes, bytes]] = []
    for row in ctx.iterate(DEBTS.prefix + u32(debtor)):
        rows.append(row)
        if len(rows) > MAX_SETTLE:
            break
    if not rows:
        return False
    available = funds_api.cash(ctx, debtor)
    for key, raw in rows[:MAX_SETTLE]:
        owed = _amount(key, raw)
        pay = min(owed, available)
        if pay == 0:
            return True
        creditor = int.from_bytes(key[-4:], "big")
        currency.transfer(
            ctx, funds_api.cash_account(debtor), funds_api.cash_account(creditor), pay
        )
        DEBTS.put(ctx, pair(debtor, creditor), owed - pay)
        shared_total, paid_total = SHARES.get(ctx, pair(debtor, creditor))
        SHARES.put(ctx, pair(debtor, creditor), [shared_total, paid_total + pay])
        ctx.emit(DebtPaid, debtor=debtor, creditor=creditor, amount=pay, still_owed=owed - pay)
        available -= pay
        if pay < owed:
            return True
    return len(rows) > MAX_SETTLE


def sweep(ctx: CallContext) -> None:
    """on_initialize: settle the first queued debtors; queue again those that still owe."""
    due: list[bytes] = []
    for key, _ in ctx.iterate(DEBTOR_QUEUE.prefix):
        due.append(key[len(DEBTOR_QUEUE.prefix) :])
        if len(due) >= MAX_SWEEP_PER_BLOCK:
            break
    for entry in due:
        debtor = int.from_bytes(entry[8:], "big")
        DEBTOR_QUEUE.delete(ctx, entry)
        QUEUED.delete(ctx, debtor)
        if settle(ctx, debtor):
            _queue(ctx, debtor)
