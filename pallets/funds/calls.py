"""Funds calls: create, join, consent proposals and objections, removal, leaving.

Every call reads like its rule: check, read, write, emit. Money moves only
through ``pallets.balances.currency`` into and out of the fund's cash
module account, so I1 holds by construction.
"""

from __future__ import annotations

from dataclasses import replace

from pallets.balances import currency
from pallets.funds import api
from pallets.funds.errors import (
    AlreadyFunder,
    AlreadyLeaving,
    AlreadyVoted,
    BadContribution,
    BadProposal,
    CannotVoteOnSelf,
    FundIsForming,
    GrowthNotNeeded,
    NotAdmitted,
    ProposalClosed,
    TooEarlyToLeave,
    TooManyFunders,
    UnknownProposal,
)
from pallets.funds.events import (
    ExitRequested,
    FundActivated,
    FundCreated,
    FunderJoined,
    ProposalObjected,
    RemovalVoted,
)
from pallets.funds.storage import (
    ADMITTED,
    FUNDER_OF,
    FUNDERS,
    MAX_FUNDERS,
    NEXT_FUND,
    PROPOSAL_DUE,
    PROPOSAL_KINDS,
    PROPOSALS,
    REMOVAL_VOTES,
)
from pallets.funds.types import (
    MAX_NAME,
    MAX_SCOPE,
    PURPOSE_LIST,
    AccountFund,
    Fund,
    FundAccount,
    Funder,
    FundStatus,
    ProposalDue,
    ProposalKind,
    ProposalStatus,
    Purpose,
    RemovalVote,
)
from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    BPS,
    HASH,
    U32,
    U64,
    Enum,
    Optional,
    Text,
)
from pallets.support.context import CallContext
from pallets.support.declare import CallSet
from pallets.support.records import keys_under

calls = CallSet("funds")

# Weights: a bound on storage operations. Walking a fund's funders costs at
# most MAX_FUNDERS reads; paying the exit queue at most MAX_EXITS_PER_CALL
# payments (EXIT_PAYMENT_WORK each, in full or the last in part), after settling
# debts to federated funds (X3); entering the queue 6 operations (queue_exit).
FUNDER_WALK = MAX_FUNDERS + 4
EXIT_WORK = MAX_FUNDERS + api.MAX_EXITS_PER_CALL * api.EXIT_PAYMENT_WORK + 16 + api.OBLIGATION_WORK


@calls.call(
    0,
    args=(
        ("name", Text(MAX_NAME)),
        ("scope", Text(MAX_SCOPE)),
        ("bioregion", Optional(U32)),
        ("policy_hash", HASH),
        ("conduct_hash", HASH),
        ("contribution", AMOUNT),
        ("rate_bps", BPS),
        ("purposes", PURPOSE_LIST),
    ),
    weight=25,
)
def create(
    ctx: CallContext,
    name: str,
    scope: str,
    bioregion: int | None,
    policy_hash: bytes,
    conduct_hash: bytes,
    contribution: int,
    rate_bps: int,
    purposes: list[str],
) -> None:
    """F1: create a fund; the signer is its first funder and pays C into its cash."""
    if contribution <= 0:
        raise BadContribution("the contribution C must be positive")
    if not name.strip():
        raise BadContribution("a fund needs a name")
    fund_id: int = NEXT_FUND.get(ctx)
    NEXT_FUND.put(ctx, fund_id + 1)
    account = currency.register_module_account(ctx, api.cash_account_name(fund_id))
    currency.transfer(ctx, ctx.signer, account, contribution)
    now = ctx.block.time
    min_funders = ctx.param("funds", "min_funders")
    status = FundStatus.ACTIVE if min_funders <= 1 else FundStatus.FORMING
    fund = Fund(
        name=name,
        scope=scope,
        bioregion=bioregion,
        policy_hash=policy_hash,
        conduct_hash=conduct_hash,
        contribution=contribution,
        rate_bps=rate_bps,
        purposes=tuple(p for p in Purpose if p in purposes),  # in declaration order
        status=status,
        creator=ctx.signer,
        created=now,
        funders=1,
        outstanding=0,
        interest_income=0,
        losses=0,
        expenses=0,
        exits_paid=0,
    )
    api.put_fund(ctx, fund_id, fund)
    FUNDERS.put(ctx, FundAccount(fund_id, ctx.signer), _new_funder(now, contribution))
    FUNDER_OF.put(ctx, AccountFund(ctx.signer, fund_id), True)
    ctx.emit(
        FundCreated,
        fund=fund_id,
        creator=ctx.signer,
        cash_account=account,
        contribution=contribution,
    )
    if status == FundStatus.ACTIVE:
        ctx.emit(FundActivated, fund=fund_id)


def _new_funder(now: int, paid: int) -> Funder:
    return Funder(joined=now, paid=paid, leaving_since=None, removed=False)


@calls.call(1, args=(("fund", U32),), weight=21)
def join(ctx: CallContext, fund: int) -> None:
    """F2/F4: pay exactly C and become a funder (after consent once the fund is active)."""
    record = api.get_fund(ctx, fund)
    if api.is_funder(ctx, fund, ctx.signer):
        raise AlreadyFunder(f"account is already a funder of fund {fund}")
    if record.funders >= MAX_FUNDERS:
        raise TooManyFunders(f"fund {fund} has {MAX_FUNDERS} funders already")
    seat = FundAccount(fund, ctx.signer)
    if record.status == FundStatus.ACTIVE:
        if not ADMITTED.get(ctx, seat):
            raise NotAdmitted(f"fund {fund} is active: the funders must consent first (F4)")
        _check_growth(ctx, fund, record)
        ADMITTED.delete(ctx, seat)
    contribution = record.contribution
    currency.transfer(ctx, ctx.signer, api.cash_account(fund), contribution)
    FUNDERS.put(ctx, seat, _new_funder(ctx.block.time, contribution))
    FUNDER_OF.put(ctx, AccountFund(ctx.signer, fund), True)
    record = replace(record, funders=record.funders + 1)
    ctx.emit(FunderJoined, fund=fund, funder=ctx.signer, paid=contribution)
    if record.status == FundStatus.FORMING and record.funders >= ctx.param("funds", "min_funders"):
        record = replace(record, status=FundStatus.ACTIVE)
        ctx.emit(FundActivated, fund=fund)
    api.put_fund(ctx, fund, record)


def _check_growth(ctx: CallContext, fund_id: int, fund: Fund) -> None:
    minimum = ctx.param("funds", "growth_min_utilization")
    fund_size = api.size(ctx, fund_id, fund)
    if fund.outstanding * 10_000 < minimum * fund_size:
        raise GrowthNotNeeded(
            f"outstanding {fund.outstanding} is below {minimum} bps of size {fund_size}"
        )


@calls.call(
    2,
    args=(
        ("fund", U32),
        ("kind", Enum(PROPOSAL_KINDS)),
        ("subject", Optional(ACCOUNT)),
        ("amount", AMOUNT),
        ("rate_bps", BPS),
        ("apply_to_open", BOOL),
        ("reason_hash", HASH),
    ),
    weight=20,
)
def propose(
    ctx: CallContext,
    fund: int,
    kind: str,
    subject: bytes | None,
    amount: int,
    rate_bps: int,
    apply_to_open: bool,
    reason_hash: bytes,
) -> None:
    """F8: a funder proposes a new funder (F4), an interest rate (F7) or an expense (F9).
    Every argument is required; what matters depends on kind. new_funder: subject = the
    candidate (not nil, not already a funder; the fund active and growth allowed, F4);
    pass amount 0, rate_bps 0, apply_to_open false (ignored, stored as 0, 0, false).
    interest_rate: rate_bps = the new rate, apply_to_open = a lower rate also applies to
    open credits (F7); pass subject nil (not checked, but kept in the proposal record)
    and amount 0 (ignored, stored as 0). expense: subject = the payee (not nil), amount
    > 0 paid from cash (F9); pass rate_bps 0, apply_to_open false (ignored, stored as 0,
    false). reason_hash: for every kind the 32-byte hash of the reasons, kept in the
    record (the wallet sends 32 zero bytes when none is given).

    It passes when consent_period ends without an objection.
    """
    record = api.get_fund(ctx, fund)
    api.require_funder(ctx, fund, ctx.signer)
    proposal_kind = ProposalKind(kind)  # one of PROPOSAL_KINDS: the arguments were checked
    if proposal_kind == ProposalKind.NEW_FUNDER:
        if subject is None:
            raise BadProposal("a new-funder proposal names the candidate (subject)")
        if record.status != FundStatus.ACTIVE:
            raise FundIsForming(f"fund {fund} is forming: the candidate may join directly")
        if api.is_funder(ctx, fund, subject):
            raise AlreadyFunder("the candidate is already a funder")
        _check_growth(ctx, fund, record)
    elif proposal_kind == ProposalKind.EXPENSE and (subject is None or amount <= 0):
        raise BadProposal("an expense proposal names a payee (subject) and a positive amount")
    api.open_proposal(
        ctx,
        fund,
        proposal_kind,
        subject=subject,
        amount=amount,
        rate_bps=rate_bps,
        apply_to_open=apply_to_open,
        reason_hash=reason_hash,
    )


@calls.call(3, args=(("proposal", U64), ("reason_hash", HASH)), weight=12)
def object(ctx: CallContext, proposal: int, reason_hash: bytes) -> None:
    """F8: one objection by a funder before the period ends rejects the proposal."""
    record = PROPOSALS.get(ctx, proposal)
    if record is None:
        raise UnknownProposal(f"there is no proposal {proposal}")
    api.require_funder(ctx, record.fund, ctx.signer)
    if record.status != ProposalStatus.OPEN or ctx.block.time >= record.ends:
        raise ProposalClosed(f"proposal {proposal} is {record.status} and closed to objections")
    record = replace(record, status=ProposalStatus.REJECTED, objector=ctx.signer)
    PROPOSALS.put(ctx, proposal, record)
    PROPOSAL_DUE.delete(ctx, ProposalDue(record.ends, proposal))
    ctx.emit(ProposalObjected, proposal=proposal, objector=ctx.signer, reason_hash=reason_hash)


@calls.call(4, args=(("fund", U32), ("target", ACCOUNT)), weight=FUNDER_WALK * 3 + 22)
def vote_removal(ctx: CallContext, fund: int, target: bytes) -> None:
    """F6: a funder votes to remove another; at removal_threshold of the others it leaves."""
    record = api.get_fund(ctx, fund)
    api.require_funder(ctx, fund, ctx.signer)
    target_record = api.require_funder(ctx, fund, target)
    if target == ctx.signer:
        raise CannotVoteOnSelf("removal is decided by the other funders")
    if target_record.leaving_since is not None:
        raise AlreadyLeaving("the funder is already leaving")
    vote_key = RemovalVote(fund, target, ctx.signer)
    if REMOVAL_VOTES.get(ctx, vote_key):
        raise AlreadyVoted("this funder already voted to remove the target")
    REMOVAL_VOTES.put(ctx, vote_key, True)
    votes_cast = list(keys_under(ctx, REMOVAL_VOTES, RemovalVote.head(fund, target)))
    votes = sum(1 for vote in votes_cast if api.is_funder(ctx, fund, vote.voter))
    ctx.emit(RemovalVoted, fund=fund, target=target, voter=ctx.signer, votes=votes)
    others = record.funders - 1
    if votes * 10_000 >= ctx.param("funds", "removal_threshold") * others:
        for vote in votes_cast:
            REMOVAL_VOTES.delete(ctx, vote)
        _enter_exit_queue(ctx, fund, target, target_record, removed=True)


@calls.call(5, args=(("fund", U32),), weight=EXIT_WORK + 12)
def leave(ctx: CallContext, fund: int) -> None:
    """F5: after min_membership, ask to be paid one's claim (size / funders) and leave."""
    api.get_fund(ctx, fund)
    record = api.require_funder(ctx, fund, ctx.signer)
    if record.leaving_since is not None:
        raise AlreadyLeaving("the funder is already in the exit queue")
    since = ctx.block.time - record.joined
    minimum = ctx.param("funds", "min_membership")
    if since < minimum:
        raise TooEarlyToLeave(f"member for {since} s; a funder may leave after {minimum} s")
    _enter_exit_queue(ctx, fund, ctx.signer, record, removed=False)
    api.pay_exits(ctx, fund)


def _enter_exit_queue(
    ctx: CallContext, fund: int, account: bytes, record: Funder, *, removed: bool
) -> None:
    now = ctx.block.time
    record = replace(record, leaving_since=now, removed=removed)
    FUNDERS.put(ctx, FundAccount(fund, account), record)
    api.queue_exit(ctx, fund, now, account)
    ctx.emit(ExitRequested, fund=fund, funder=account, removed=int(removed))
