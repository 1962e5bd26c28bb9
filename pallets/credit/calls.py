"""Credit calls: submit (C1, C3, C4), sign (C2), endorse (C5), conflicts (C7),
review, amend and withdraw (C8). Approval disburses the loan (C9, L1).

A request's free texts and documents are named by hashes (F10); governance
may purge a document from every node's document store (``purge_document``).
"""

from __future__ import annotations

from typing import Any

from pallets.credit import lifecycle, score
from pallets.credit.documents import check_hashes, purge
from pallets.credit.errors import (
    AlreadyDeclared,
    AlreadyResolved,
    AlreadySigned,
    BadTerms,
    CannotDeclare,
    CannotEndorse,
    ConflictPending,
    NoSuchConflict,
    NotBorrower,
    NotReviewer,
    NotSubmitter,
    PurposeNotServed,
    ResubmitCooldown,
    SubmitterNotBorrower,
    TooEarly,
    TooLate,
    TooManyReplacements,
    UnknownRequest,
    WrongStatus,
)
from pallets.credit.events import (
    Amended,
    ConflictAccepted,
    ConflictDeclared,
    Endorsed,
    RequestSigned,
    RequestSubmitted,
    RequestValid,
    Resolved,
    Verdict,
)
from pallets.credit.storage import (
    BY_FUND,
    CONFLICT_DUE,
    COOLDOWNS,
    MAX_DOCUMENTS,
    MAX_DRAWS,
    MAX_ENDORSEMENTS,
    MAX_INSTALLMENTS,
    MAX_PROVIDERS,
    NEXT_REQUEST,
    OPEN_STATUSES,
    VERDICTS,
)
from pallets.funds import api as funds_api
from pallets.funds.storage import MAX_FUNDERS, PURPOSE
from pallets.loans.storage import MAX_BORROWERS
from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    DURATION,
    HASH,
    U16,
    U32,
    U64,
    Enum,
    List,
)
from pallets.support.context import CallContext
from pallets.support.declare import GOVERNANCE, CallSet
from pallets.support.records import u32, u64
from pallets.trust.api import FEDERATED_TRUST_WORK

calls = CallSet("credit")

# Weights bound storage operations: reading trust and funder records for
# every borrower (8) and endorser, the C4 check, the score, and at approval
# the debts and exit queue, the C4 check, every reviewer's trust and the
# disbursement. Every trust read may look up recognized trust (T2); T5 reads
# each party's trust in use beside it, and reserves or releases its stake.
T2 = FEDERATED_TRUST_WORK
STAKE_WORK = 2 * (T2 + 6) + 2  # what a party can bring, checked, reserved and named (T5)
SUBMIT_WORK = MAX_BORROWERS * (8 + T2 + STAKE_WORK) + MAX_PROVIDERS * 2 + 64 + score.SCORE_WORK
REVIEW_WORK = (
    (MAX_FUNDERS + MAX_BORROWERS) * (6 + T2 + STAKE_WORK) + funds_api.OBLIGATION_WORK + 256
)
RELEASE_WORK = (MAX_BORROWERS + MAX_FUNDERS) * 4  # every stake given back, unnamed (T5)
RECUSE_WORK = 16 + RELEASE_WORK  # the request, the draw queue, or its end (unreviewable)


def _load(ctx: CallContext, request_id: int) -> dict[str, Any]:
    request = lifecycle.load(ctx, request_id)
    if request is None:
        raise UnknownRequest(f"there is no request {request_id}")
    return request


def _expect(request: dict[str, Any], *statuses: str) -> None:
    if request["status"] not in statuses:
        raise WrongStatus(f"the request is {request['status']}; this needs {' or '.join(statuses)}")


DOCUMENTS = List(HASH, MAX_DOCUMENTS, unique=True)


@calls.call(
    0,
    args=(
        ("fund", U32),
        ("borrowers", List(ACCOUNT, MAX_BORROWERS, min_len=1, unique=True)),
        ("amount", AMOUNT),
        ("purpose", PURPOSE),
        ("recipient", ACCOUNT),
        ("term", DURATION),
        ("installments", U16),
        ("what_hash", HASH),
        ("repayment_good_hash", HASH),
        ("repayment_bad_hash", HASH),
        ("trust_reasons_hash", HASH),
        ("documents", DOCUMENTS),
        ("providers", List(ACCOUNT, MAX_PROVIDERS, unique=True)),
    ),
    weight=SUBMIT_WORK + MAX_BORROWERS,  # + each borrower's C6 cooldown
)
def submit(
    ctx: CallContext,
    fund: int,
    borrowers: list[bytes],
    amount: int,
    purpose: str,
    recipient: bytes,
    term: int,
    installments: int,
    what_hash: bytes,
    repayment_good_hash: bytes,
    repayment_bad_hash: bytes,
    trust_reasons_hash: bytes,
    documents: list[bytes],
    providers: list[bytes],
) -> None:
    """C1: request a credit from a fund; valid once every co-borrower signed (C2).

    The texts and documents are named by hashes; the texts live off chain (F10).
    """
    texts = [what_hash, repayment_good_hash, repayment_bad_hash, trust_reasons_hash]
    check_hashes(texts + documents)
    record = funds_api.get_fund(ctx, fund)
    if ctx.signer not in borrowers:
        raise SubmitterNotBorrower("the submitter must be one of the borrowers")
    if purpose not in record.purposes:
        raise PurposeNotServed(f"fund {fund} serves {', '.join(record.purposes)}")
    if amount <= 0 or not 1 <= installments <= MAX_INSTALLMENTS or term < installments:
        raise BadTerms("amount > 0, 1-120 installments, term >= installments seconds")
    _check_cooldown(ctx, fund, borrowers)
    request_id: int = NEXT_REQUEST.get(ctx)
    request: dict[str, Any] = {
        "fund": fund,
        "submitter": ctx.signer,
        "borrowers": borrowers,
        "signed": [ctx.signer],
        "amount": amount,
        "purpose": purpose,
        "recipient": recipient,
        "term": term,
        "installments": installments,
        "what_hash": what_hash,
        "repayment_good_hash": repayment_good_hash,
        "repayment_bad_hash": repayment_bad_hash,
        "trust_reasons_hash": trust_reasons_hash,
        "documents": documents,
        "providers": providers,
        "status": "awaiting_signatures",
        "created": ctx.block.time,
        "valid_at": 0,
        "valid_height": 0,
        "round": 0,
        "score": 0,
        "endorsements": [],
        "candidates": [],
        "draws": [],
        "reviewers": [],
        "excluded": [],
        "conflicts": [],
        "acceptances": [],
        "verdicts": [],
        "reserved": [],
    }
    lifecycle.check_pooled_trust(ctx, request)
    funds_api.check_hard_limits(ctx, fund, amount)
    NEXT_REQUEST.put(ctx, request_id + 1)
    BY_FUND.put(ctx, u32(fund) + u64(request_id), 1)
    ctx.emit(RequestSubmitted, request=request_id, fund=fund, submitter=ctx.signer, amount=amount)
    score.pin_model(ctx, request_id, fund)  # C5: the models in force when it is made
    _maybe_valid(ctx, request_id, request)
    lifecycle.save(ctx, request_id, request)


# ---- C6 resubmit cooldown (issue 18): a withdrawn draw is not re-rolled


def _check_cooldown(ctx: CallContext, fund: int, borrowers: list[bytes]) -> None:
    now = ctx.block.time
    for borrower in borrowers:
        until: int = COOLDOWNS.get(ctx, borrower + u32(fund))
        if now < until:
            raise ResubmitCooldown(
                f"borrower 0x{borrower.hex()} withdrew a request from fund {fund} after its "
                f"reviewer draw; a new request to this fund is possible from time {until} "
                f"(resubmit_cooldown, C6: a draw cannot be re-rolled)"
            )


def _start_cooldown(ctx: CallContext, record: dict[str, Any]) -> None:
    """After a withdrawal past the draw, its borrowers wait ``resubmit_cooldown`` (C6)."""
    if not record["draws"]:
        return  # withdrawn before any draw: nothing was rolled
    until = ctx.block.time + ctx.param("credit", "resubmit_cooldown")
    for borrower in record["borrowers"]:
        key = borrower + u32(record["fund"])
        COOLDOWNS.put(ctx, key, max(until, COOLDOWNS.get(ctx, key)))


# ---- end C6 resubmit cooldown


def _maybe_valid(ctx: CallContext, request_id: int, request: dict[str, Any]) -> None:
    if set(request["signed"]) == set(request["borrowers"]):
        lifecycle.become_valid(ctx, request_id, request)
        ctx.emit(
            RequestValid,
            request=request_id,
            score=request["score"],
            draw_height=ctx.block.height + lifecycle.DRAW_DELAY,
        )


@calls.call(1, args=(("request", U64),), weight=SUBMIT_WORK)
def sign(ctx: CallContext, request: int) -> None:
    """C2: a co-borrower signs; with the last signature the request is valid."""
    record = _load(ctx, request)
    _expect(record, "awaiting_signatures")
    if ctx.signer not in record["borrowers"]:
        raise NotBorrower("only a borrower named in the request may sign it")
    if ctx.signer in record["signed"]:
        raise AlreadySigned("this borrower already signed")
    record["signed"] = sorted(record["signed"] + [ctx.signer], key=record["borrowers"].index)
    ctx.emit(RequestSigned, request=request, borrower=ctx.signer)
    _maybe_valid(ctx, request, record)
    lifecycle.save(ctx, request, record)


@calls.call(2, args=(("request", U64),), weight=SUBMIT_WORK)
def endorse(ctx: CallContext, request: int) -> None:
    """C5: a funder of the fund (not a borrower) vouches for the request on chain."""
    record = _load(ctx, request)
    _expect(record, *sorted(OPEN_STATUSES))
    if (
        not funds_api.is_funder(ctx, record["fund"], ctx.signer)
        or ctx.signer in record["borrowers"]
        or ctx.signer in record["endorsements"]
        or len(record["endorsements"]) >= MAX_ENDORSEMENTS
    ):
        raise CannotEndorse("endorsers are the fund's funders, not borrowers, once each")
    record["endorsements"] = sorted(record["endorsements"] + [ctx.signer])
    record["score"] = score.score(ctx, request, record)
    lifecycle.save(ctx, request, record)
    ctx.emit(Endorsed, request=request, by=ctx.signer, score=record["score"])


def _require_reviewer(record: dict[str, Any], account: bytes) -> None:
    if account not in record["reviewers"]:
        raise NotReviewer("only a drawn reviewer of this request may do this")


# Declaring reads the request, the fund's funder record, the conflict window and
# writes the request and the conflict's deadline.
@calls.call(3, args=(("request", U64), ("reason_hash", HASH)), weight=12)
def declare_conflict(ctx: CallContext, request: int, reason_hash: bytes) -> None:
    """C7: declare a conflict of interest with a request.

    Before the draw, a funder of the fund who is not a borrower: they will not
    be drawn. A drawn reviewer: replaced by another draw unless every other
    reviewer accepts them within ``conflict_window``; silence replaces.
    """
    record = _load(ctx, request)
    account = ctx.signer
    if (
        record["status"] in ("awaiting_signatures", "awaiting_draw")
        and account not in (record["reviewers"])
    ):
        if (
            not funds_api.is_funder(ctx, record["fund"], account)
            or account in record["borrowers"]
            or account in record["excluded"]
        ):
            raise CannotDeclare("before the draw, only a funder who is not a borrower, once")
        record["excluded"] = sorted(record["excluded"] + [account])
        lifecycle.save(ctx, request, record)
        ctx.emit(ConflictDeclared, request=request, reviewer=account, reason_hash=reason_hash)
        return
    _expect(record, "in_review", "needs_improvement")
    _require_reviewer(record, account)
    if account in record["conflicts"]:
        raise AlreadyDeclared("this reviewer already declared a conflict")
    record["conflicts"] = sorted(record["conflicts"] + [account])
    due = ctx.block.time + ctx.param("credit", "conflict_window")
    CONFLICT_DUE.put(ctx, u64(due) + u64(request) + account, 1)
    lifecycle.save(ctx, request, record)
    ctx.emit(ConflictDeclared, request=request, reviewer=account, reason_hash=reason_hash)


@calls.call(4, args=(("request", U64), ("reviewer", ACCOUNT), ("accept", BOOL)), weight=24)
def answer_conflict(ctx: CallContext, request: int, reviewer: bytes, accept: bool) -> None:
    """C7: another reviewer accepts the conflicted one, or refuses: then it is redrawn."""
    record = _load(ctx, request)
    _expect(record, "in_review", "needs_improvement")
    _require_reviewer(record, ctx.signer)
    if reviewer not in record["conflicts"] or reviewer == ctx.signer:
        raise NoSuchConflict("that reviewer has no conflict for another reviewer to answer")
    if not accept:
        if len(record["draws"]) >= MAX_DRAWS:
            raise TooManyReplacements(f"a request is drawn at most {MAX_DRAWS} times")
        lifecycle.replace_reviewer(ctx, request, record, reviewer)
        return
    if [reviewer, ctx.signer] not in record["acceptances"]:
        record["acceptances"] = sorted(record["acceptances"] + [[reviewer, ctx.signer]])
    accepted_by = {by for who, by in record["acceptances"] if who == reviewer}
    if all(r in accepted_by for r in record["reviewers"] if r != reviewer):
        record["conflicts"].remove(reviewer)
        ctx.emit(ConflictAccepted, request=request, reviewer=reviewer)
    lifecycle.save(ctx, request, record)


@calls.call(8, args=(("request", U64),), weight=RECUSE_WORK)
def recuse(ctx: CallContext, request: int) -> None:
    """C7: a drawn reviewer steps down at once; another is drawn in their place."""
    record = _load(ctx, request)
    _expect(record, "in_review", "needs_improvement")
    _require_reviewer(record, ctx.signer)
    if any(v[0] == ctx.signer for v in record["verdicts"]):
        raise AlreadyResolved("a reviewer who gave a verdict in this round cannot recuse")
    lifecycle.replace_reviewer(ctx, request, record, ctx.signer)


@calls.call(
    5,
    args=(("request", U64), ("verdict", Enum(VERDICTS)), ("conclusions_hash", HASH)),
    weight=REVIEW_WORK,
)
def review(ctx: CallContext, request: int, verdict: str, conclusions_hash: bytes) -> None:
    """C8: between review_min and review_max after validity, each reviewer resolves.

    All approve: approved (C9, L1). Any declines: declined. Otherwise, once all
    have spoken: needs improvement.
    """
    record = _load(ctx, request)
    _expect(record, "in_review")
    _require_reviewer(record, ctx.signer)
    now = ctx.block.time
    opens = record["valid_at"] + ctx.param("credit", "review_min")
    if now < opens:
        raise TooEarly(f"reviews open at {opens}, it is {now}")
    deadline = lifecycle.deadline_of(ctx, record)
    if now > deadline:
        raise TooLate(f"the review window closed at {deadline}")
    if any(v[0] == ctx.signer for v in record["verdicts"]):
        raise AlreadyResolved("this reviewer already resolved in this round")
    if verdict == "approve" and record["conflicts"]:
        raise ConflictPending("declared conflicts must be accepted or replaced before approval")
    record["verdicts"] = sorted(
        record["verdicts"] + [[ctx.signer, verdict, conclusions_hash]], key=lambda v: v[0]
    )
    ctx.emit(
        Verdict,
        request=request,
        reviewer=ctx.signer,
        verdict=verdict,
        conclusions_hash=conclusions_hash,
    )
    if verdict == "decline":
        record["status"] = "declined"
        lifecycle.release_all(ctx, record)
        ctx.emit(Resolved, request=request, outcome="declined")
    elif len(record["verdicts"]) == len(record["reviewers"]):
        if all(v[1] == "approve" for v in record["verdicts"]):
            lifecycle.approve(ctx, request, record)
            return
        record["status"] = "needs_improvement"
        ctx.emit(Resolved, request=request, outcome="needs_improvement")
    lifecycle.save(ctx, request, record)


@calls.call(
    6,
    args=(
        ("request", U64),
        ("what_hash", HASH),
        ("repayment_good_hash", HASH),
        ("repayment_bad_hash", HASH),
        ("trust_reasons_hash", HASH),
        ("documents", DOCUMENTS),
    ),
    weight=SUBMIT_WORK,
)
def amend(
    ctx: CallContext,
    request: int,
    what_hash: bytes,
    repayment_good_hash: bytes,
    repayment_bad_hash: bytes,
    trust_reasons_hash: bytes,
    documents: list[bytes],
) -> None:
    """C8: after "needs improvement" the submitter amends; a new review round starts."""
    check_hashes([what_hash, repayment_good_hash, repayment_bad_hash, trust_reasons_hash])
    check_hashes(documents)
    record = _load(ctx, request)
    _expect(record, "needs_improvement")
    if ctx.signer != record["submitter"]:
        raise NotSubmitter("only the submitting borrower may amend the request")
    record.update(
        what_hash=what_hash,
        repayment_good_hash=repayment_good_hash,
        repayment_bad_hash=repayment_bad_hash,
        trust_reasons_hash=trust_reasons_hash,
        documents=documents,
        verdicts=[],
        status="in_review",
        valid_at=ctx.block.time,
        round=record["round"] + 1,
    )
    lifecycle.check_pooled_trust(ctx, record)
    lifecycle.queue_deadline(ctx, request, record)
    lifecycle.save(ctx, request, record)
    ctx.emit(Amended, request=request, round=record["round"])


@calls.call(7, args=(("request", U64),), weight=8 + RELEASE_WORK + 2 * MAX_BORROWERS)
def withdraw(ctx: CallContext, request: int) -> None:
    """The submitter withdraws an open request; its stakes are free again (T5).

    Past its draw, its borrowers start the C6 ``resubmit_cooldown`` at this fund.
    """
    record = _load(ctx, request)
    _expect(record, *sorted(OPEN_STATUSES))
    if ctx.signer != record["submitter"]:
        raise NotSubmitter("only the submitting borrower may withdraw the request")
    record["status"] = "withdrawn"
    _start_cooldown(ctx, record)
    lifecycle.release_all(ctx, record)
    lifecycle.save(ctx, request, record)
    ctx.emit(Resolved, request=request, outcome="withdrawn")


# Reading and writing the purge mark.
@calls.call(9, args=(("document", HASH),), weight=4, origin=GOVERNANCE)
def purge_document(ctx: CallContext, document: bytes) -> None:
    """F10: erase a document from every node's document store (a governance call).

    The state keeps the hash, marked purged at this height; every node deletes
    the document and refuses it afterwards. The state never held the text.
    """
    purge(ctx, document)
