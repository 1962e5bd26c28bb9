"""What the credit and loans pallets (and RPC queries) use of a fund.

Theory of operation
-------------------
A fund's cash is the balance of its module account ``fund/<id>``; its
outstanding principal is kept on the fund record by the loans pallet, so
``size = cash + outstanding`` (F3) is two reads. ``check_hard_limits`` is
the ONE implementation of C4 (active fund, amount <= max_credit of size,
outstanding + amount <= max_utilization of size): the credit pallet calls it
at submission and again at approval.

Leaving funders (F5, F6) wait in an exit queue ordered by request time.
``pay_exits`` pays them oldest first, each their claim ``size // funders``
(the division's remainder stays in the fund). When cash does not cover the
first exit in the queue, it is paid what cash allows: its claim is fixed at
that first payment (``EXIT_PROGRESS``: claim, paid) and the rest stays at
the head of the queue, paid first from later cash; the leaving funder keeps
counting as a funder until paid in full. The credit pallet calls
``pay_exits`` before every disbursement, ``leave`` at once, and the funds
hook every block for up to MAX_EXIT_FUNDS_PER_BLOCK funds that have cash,
taken in turn from a cursor so that funds that cannot pay never block the
others. An exit not paid in full by ``requested + exit_period`` is *in
arrears* (``exit_queue``, ``arrears``): computed at read time, never stored.

Other pallets act at three hooks this pallet declares (connected in
pallets/construct.py, reached through ``ctx.wiring``):

* ``RATE_LOWERED``: F7 lets a lower interest rate apply to open credits; the
  funds pallet does not know loans, so the loans pallet connects here.
* ``PROPOSAL_HANDLERS``: ``open_proposal`` is the one way a consent proposal
  (F8) opens, for ``funds.propose`` and for the kinds another pallet carries
  out: when such a proposal passes, the funds hook calls the handler
  connected for its kind (federation: federate, unfederate; X1).
* ``OBLIGATIONS``: settlers of what a fund owes other funds (X3: loss shares
  it could not pay): ``settle_obligations`` runs them before any money leaves
  the fund (an exit, an expense, a disbursement), so such debts are paid
  first from later cash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from ledger.overlay import StateReader
from pallets.balances import currency
from pallets.funds.errors import (
    CreditTooLarge,
    DebtsPending,
    ExitsPending,
    FundNotActive,
    NotFunder,
    UnknownFund,
    UtilizationExceeded,
)
from pallets.funds.events import ExitPaid, ExitPartlyPaid, ProposalMade
from pallets.funds.storage import (
    EXIT_COUNT,
    EXIT_PROGRESS,
    EXIT_WAITING,
    EXITS,
    FUNDER_OF,
    FUNDERS,
    FUNDS,
    MAX_FUNDERS,
    MAX_SEATS_MOVED,
    NEXT_PROPOSAL,
    PROPOSAL_DUE,
    PROPOSALS,
    REMOVAL_VOTES,
)
from pallets.funds.types import (
    AccountFund,
    ExitKey,
    ExitProgress,
    FundAccount,
    Funder,
    ProposalDue,
    ProposalStatus,
    RemovalVote,
)
from pallets.funds.types import Fund as Fund  # what other pallets read and update
from pallets.funds.types import FundStatus as FundStatus
from pallets.funds.types import Proposal as Proposal
from pallets.funds.types import ProposalKind as ProposalKind
from pallets.support.context import CallContext
from pallets.support.params import param
from pallets.support.records import keys_under
from pallets.support.storage import StateWriter
from pallets.support.wiring import Hook

RateListener = Callable[[CallContext, int, int], None]  # (ctx, fund, new rate)
RATE_LOWERED: Final = Hook[RateListener](
    "funds.rate_lowered", "a fund lowered its interest rate for open credits too (F7)"
)
MAX_EXITS_PER_CALL: Final = 8
EXIT_PAYMENT_WORK: Final = 25  # storage operations to pay one exit, in full or in part

# (ctx, proposal id, proposal) -> None when carried out, else why it failed.
ProposalHandler = Callable[[CallContext, int, Proposal], str | None]
PROPOSAL_HANDLERS: Final = Hook[tuple[str, ProposalHandler]](
    "funds.proposal_handlers", "(kind, handler): carry out a passed proposal of that kind (F8)"
)
# (ctx, fund) -> whether the fund still owes anything after paying what its cash allows.
Settler = Callable[[CallContext, int], bool]
OBLIGATIONS: Final = Hook[Settler](
    "funds.obligations", "pay what the fund owes before money leaves it (X3)"
)
OBLIGATION_WORK: Final = 128  # the storage operations a settler may use per call (weights)


def cash_account_name(fund_id: int) -> str:
    return f"fund/{fund_id}"


def cash_account(fund_id: int) -> bytes:
    return currency.module_account(cash_account_name(fund_id))


def find_fund(state: StateReader, fund_id: int) -> Fund | None:
    return FUNDS.get(state, fund_id)


def get_fund(state: StateReader, fund_id: int) -> Fund:
    """The fund, or ``UnknownFund``."""
    fund = find_fund(state, fund_id)
    if fund is None:
        raise UnknownFund(f"there is no fund {fund_id}")
    return fund


def put_fund(state: StateWriter, fund_id: int, fund: Fund) -> None:
    """Store the fund (an update is ``dataclasses.replace(fund, field=...)``)."""
    FUNDS.put(state, fund_id, fund)


def cash(state: StateReader, fund_id: int) -> int:
    return currency.free_balance(state, cash_account(fund_id))


def size(state: StateReader, fund_id: int, fund: Fund) -> int:
    """F3: cash + outstanding principal."""
    return cash(state, fund_id) + fund.outstanding


def funder(state: StateReader, fund_id: int, account: bytes) -> Funder | None:
    return FUNDERS.get(state, FundAccount(fund_id, account))


def is_funder(state: StateReader, fund_id: int, account: bytes) -> bool:
    return FUNDERS.contains(state, FundAccount(fund_id, account))


def require_funder(state: StateReader, fund_id: int, account: bytes) -> Funder:
    record = funder(state, fund_id, account)
    if record is None:
        raise NotFunder(f"account is not a funder of fund {fund_id}")
    return record


def funders(state: StateReader, fund_id: int) -> list[bytes]:
    """The fund's funders, sorted by account (at most MAX_FUNDERS)."""
    seats = keys_under(state, FUNDERS, FundAccount.head(fund_id))
    return [seat.account for seat in seats][:MAX_FUNDERS]


def check_hard_limits(state: StateReader, fund_id: int, amount: int) -> None:
    """C4, at submission and at approval: active, <= max_credit, <= max_utilization."""
    fund = get_fund(state, fund_id)
    if fund.status != FundStatus.ACTIVE:
        raise FundNotActive(f"fund {fund_id} is {fund.status}; it lends only when active")
    fund_size = size(state, fund_id, fund)
    max_credit = param(state, "credit", "max_credit")
    if amount * 10_000 > max_credit * fund_size:
        raise CreditTooLarge(
            f"amount {amount} exceeds {max_credit} bps of the fund's size {fund_size}"
        )
    max_utilization = param(state, "credit", "max_utilization")
    after = fund.outstanding + amount
    if after * 10_000 > max_utilization * fund_size:
        raise UtilizationExceeded(
            f"outstanding {fund.outstanding} + amount {amount} exceeds "
            f"{max_utilization} bps of the fund's size {fund_size}"
        )


def pending_exits(state: StateReader, fund_id: int) -> list[ExitKey]:
    """The fund's exit queue (fund, requested, account), oldest first."""
    return list(keys_under(state, EXITS, ExitKey.head(fund_id)))


def open_proposal(
    ctx: CallContext,
    fund_id: int,
    kind: ProposalKind,
    *,
    subject: bytes | None = None,
    amount: int = 0,
    rate_bps: int = 0,
    apply_to_open: bool = False,
    reason_hash: bytes,
) -> int:
    """F8: open a consent proposal by the signer (a funder, checked by the caller); its id."""
    proposal_id: int = NEXT_PROPOSAL.get(ctx)
    NEXT_PROPOSAL.put(ctx, proposal_id + 1)
    now = ctx.block.time
    ends = now + ctx.param("funds", "consent_period")
    proposal = Proposal(
        fund=fund_id,
        kind=kind,
        proposer=ctx.signer,
        subject=subject,
        amount=amount if kind == ProposalKind.EXPENSE else 0,
        rate_bps=rate_bps if kind == ProposalKind.INTEREST_RATE else 0,
        apply_to_open=apply_to_open and kind == ProposalKind.INTEREST_RATE,
        reason_hash=reason_hash,
        created=now,
        ends=ends,
        status=ProposalStatus.OPEN,
        objector=None,
    )
    PROPOSALS.put(ctx, proposal_id, proposal)
    PROPOSAL_DUE.put(ctx, ProposalDue(ends, proposal_id), True)
    ctx.emit(ProposalMade, fund=fund_id, proposal=proposal_id, kind=kind.value, ends=ends)
    return proposal_id


def settle_obligations(ctx: CallContext, fund_id: int) -> bool:
    """X3: pay what the fund owes federated funds as cash allows; whether it still owes."""
    still_owes = False
    for settle in ctx.wiring.get(OBLIGATIONS):
        still_owes = settle(ctx, fund_id) or still_owes
    return still_owes


def queue_exit(ctx: CallContext, fund_id: int, requested: int, account: bytes) -> None:
    """F5/F6: the account enters the fund's exit queue (the caller marks it leaving)."""
    EXITS.put(ctx, ExitKey(fund_id, requested, account), True)
    count: int = EXIT_COUNT.get(ctx, fund_id)
    if count == 0:
        EXIT_WAITING.put(ctx, EXIT_WAITING.get(ctx) + 1)
    EXIT_COUNT.put(ctx, fund_id, count + 1)


def _dequeue_exit(ctx: CallContext, fund_id: int, queue_key: ExitKey) -> None:
    EXITS.delete(ctx, queue_key)
    EXIT_PROGRESS.delete(ctx, queue_key)
    count: int = EXIT_COUNT.get(ctx, fund_id) - 1
    if count > 0:
        EXIT_COUNT.put(ctx, fund_id, count)
    else:
        EXIT_COUNT.delete(ctx, fund_id)
        EXIT_WAITING.put(ctx, EXIT_WAITING.get(ctx) - 1)


def exit_progress(state: StateReader, queue_key: ExitKey) -> tuple[int, int] | None:
    """(claim, paid) of an exit paid in part, else None (its claim is not fixed yet)."""
    record = EXIT_PROGRESS.get(state, queue_key)
    return None if record is None else (record.claim, record.paid)


def can_pay_exits(state: StateReader, fund_id: int) -> bool:
    """Whether paying the fund's exits can move anything: it has cash, or its size is 0."""
    fund = find_fund(state, fund_id)
    return fund is not None and (cash(state, fund_id) > 0 or fund.outstanding == 0)


def pay_exits(ctx: CallContext, fund_id: int, limit: int = MAX_EXITS_PER_CALL) -> int:
    """Pay leaving funders oldest first while cash allows; the number still waiting.

    The first exit that cash does not cover is paid what there is (its claim
    fixed at that first payment) and stays first in the queue. Debts to
    federated funds (X3) come first: while any remains, exits wait.
    """
    queue = pending_exits(ctx, fund_id)
    if queue and settle_obligations(ctx, fund_id):
        return len(queue)
    for done, queue_key in enumerate(queue):
        account = queue_key.account
        if done >= limit:
            return len(queue) - done
        fund = get_fund(ctx, fund_id)
        progress = exit_progress(ctx, queue_key)
        if progress is None:
            claim, paid = size(ctx, fund_id, fund) // max(fund.funders, 1), 0
        else:
            claim, paid = progress
        owed = claim - paid
        available = cash(ctx, fund_id)
        if owed > available:
            if available > 0:  # F5: a partial payment as cash comes in
                currency.transfer(ctx, cash_account(fund_id), account, available)
                EXIT_PROGRESS.put(ctx, queue_key, ExitProgress(claim, paid + available))
                put_fund(ctx, fund_id, replace(fund, exits_paid=fund.exits_paid + available))
                ctx.emit(
                    ExitPartlyPaid,
                    fund=fund_id,
                    funder=account,
                    amount=available,
                    owed=owed - available,
                )
            return len(queue) - done
        if owed > 0:
            currency.transfer(ctx, cash_account(fund_id), account, owed)
        _dequeue_exit(ctx, fund_id, queue_key)
        FUNDERS.delete(ctx, FundAccount(fund_id, account))
        FUNDER_OF.delete(ctx, AccountFund(account, fund_id))
        put_fund(
            ctx,
            fund_id,
            replace(fund, funders=fund.funders - 1, exits_paid=fund.exits_paid + owed),
        )
        ctx.emit(ExitPaid, fund=fund_id, funder=account, claim=claim, amount=owed)
    return 0


@dataclass(frozen=True, slots=True)
class QueuedExit:
    """One row of ``exit_queue`` (computed at read time, never stored)."""

    funder: bytes
    requested: int
    deadline: int
    claim: int
    paid: int
    owed: int
    in_arrears: bool


def exit_queue(state: StateReader, fund_id: int, now: int) -> list[QueuedExit]:
    """F5: the fund's queued exits, oldest first, with what each is owed and its deadline.

    An exit paid in part is owed the rest of its fixed claim; one not yet paid
    anything is owed its claim if paid now (``size // funders`` once the exits
    before it are paid). Past ``requested + exit_period`` it is in arrears.
    """
    fund = get_fund(state, fund_id)
    exit_period: int = param(state, "funds", "exit_period")
    rest, counted = size(state, fund_id, fund), fund.funders
    rows = []
    for queue_key in pending_exits(state, fund_id):
        requested = queue_key.requested
        progress = exit_progress(state, queue_key)
        claim, paid = (rest // max(counted, 1), 0) if progress is None else progress
        owed = claim - paid
        deadline = requested + exit_period
        rows.append(
            QueuedExit(queue_key.account, requested, deadline, claim, paid, owed, now > deadline)
        )
        rest, counted = max(rest - owed, 0), counted - 1
    return rows


def arrears(state: StateReader, fund_id: int, now: int) -> int:
    """F5: what the fund still owes leaving funders past their exit_period deadline."""
    return sum(row.owed for row in exit_queue(state, fund_id, now) if row.in_arrears)


def require_no_pending_exits(ctx: CallContext, fund_id: int) -> None:
    """L1/F5/X3: pay what cash allows; refuse a disbursement while a debt or an exit waits."""
    if settle_obligations(ctx, fund_id):
        raise DebtsPending(
            f"fund {fund_id} must pay what it owes federated funds before new credits (X3)"
        )
    waiting = pay_exits(ctx, fund_id)
    if waiting:
        raise ExitsPending(
            f"{waiting} leaving funder(s) of fund {fund_id} must be paid before new credits"
        )


# ---------------------------------------------------------------- G1, a funder's new key


def seats_of(state: StateReader, account: bytes) -> list[int]:
    """The funds the account is a funder of, at most MAX_SEATS_MOVED + 1."""
    found = []
    for seat in keys_under(state, FUNDER_OF, AccountFund.head(account)):
        found.append(seat.fund)
        if len(found) > MAX_SEATS_MOVED:
            break
    return found


def seats_blocker(state: StateReader, old: bytes, new: bytes) -> str | None:
    """Why ``old``'s funder seats cannot move to ``new`` now (G1), or None.

    A leaving funder is paid to the key that asked (F5), and votes to remove a
    funder name its key (F6): neither moves, so a key change waits for them.
    """
    seats = seats_of(state, old)
    if len(seats) > MAX_SEATS_MOVED:
        return f"funder of more than {MAX_SEATS_MOVED} funds"
    for fund_id in seats:
        record = funder(state, fund_id, old)
        if record is not None and record.leaving_since is not None:
            return f"leaving fund {fund_id} (F5): paid to this key"
        if next(keys_under(state, REMOVAL_VOTES, RemovalVote.head(fund_id, old)), None):
            return f"votes to remove this funder from fund {fund_id} are pending (F6)"
        if is_funder(state, fund_id, new):
            return f"the new key is already a funder of fund {fund_id}"
    return None


def move_seats(ctx: CallContext, old: bytes, new: bytes) -> None:
    """G1: ``old``'s funder seats (joined, paid) become ``new``'s."""
    for fund_id in seats_of(ctx, old):
        seat = FUNDERS.get(ctx, FundAccount(fund_id, old))
        FUNDERS.delete(ctx, FundAccount(fund_id, old))
        FUNDER_OF.delete(ctx, AccountFund(old, fund_id))
        if seat is not None:
            FUNDERS.put(ctx, FundAccount(fund_id, new), seat)
            FUNDER_OF.put(ctx, AccountFund(new, fund_id), True)
