"""Credit hooks: reviewer draws (C6) at the start of a block, silent conflicts (C7) and
expiry (C8) at its end,
and the invariants I3 (limits at disbursement), I5 (approved credits covered)
and the bookkeeping of I6: every account's trust in use at a fund is exactly
its stakes in open requests plus its share of open loans' principal (T5).

Each hook walks a queue ordered by height or time and handles at most a
fixed number of items per block; the rest wait for the next block.
"""

from __future__ import annotations

from typing import Final

from ledger.overlay import StateReader
from pallets.credit import lifecycle
from pallets.credit.events import Resolved
from pallets.credit.storage import (
    APPROVAL,
    APPROVALS,
    CONFLICT_DUE,
    DEADLINES,
    DRAW_DUE,
    OPEN_STATUSES,
    REQUEST,
    REQUESTS,
)
from pallets.loans.storage import LOAN, LOANS
from pallets.support.context import CallContext
from pallets.support.declare import Hooks
from pallets.support.records import u32
from pallets.trust import api as trust_api
from pallets.trust.storage import IN_USE, NAMED

MAX_DRAWS_PER_BLOCK: Final = 8
MAX_EXPIRIES_PER_BLOCK: Final = 16
MAX_CONFLICTS_PER_BLOCK: Final = 16
EXPIRING: Final = ("awaiting_draw", "in_review", "needs_improvement")


def _due(ctx: CallContext, prefix: bytes, until: int, limit: int) -> list[bytes]:
    found: list[bytes] = []
    for key, _ in ctx.iterate(prefix):
        rest = key[len(prefix) :]
        if int.from_bytes(rest[:8], "big") > until or len(found) >= limit:
            break
        found.append(rest)
    return found


def on_initialize(ctx: CallContext) -> None:
    for rest in _due(ctx, DRAW_DUE.prefix, ctx.block.height, MAX_DRAWS_PER_BLOCK):
        DRAW_DUE.delete(ctx, rest)
        lifecycle.run_draw(ctx, int.from_bytes(rest[8:], "big"))


def on_finalize(ctx: CallContext) -> None:
    # C7: a conflict not accepted by every other reviewer by the end of its
    # window is replaced: silence never stalls a request.
    for rest in _due(ctx, CONFLICT_DUE.prefix, ctx.block.time - 1, MAX_CONFLICTS_PER_BLOCK):
        CONFLICT_DUE.delete(ctx, rest)
        request_id, reviewer = int.from_bytes(rest[8:16], "big"), rest[16:]
        request = lifecycle.load(ctx, request_id)
        if (
            request is not None
            and request["status"] in ("in_review", "needs_improvement")
            and reviewer in request["conflicts"]
        ):
            lifecycle.replace_reviewer(ctx, request_id, request, reviewer)
    # A deadline expires once block time is past it (reviews are allowed at it).
    for rest in _due(ctx, DEADLINES.prefix, ctx.block.time - 1, MAX_EXPIRIES_PER_BLOCK):
        DEADLINES.delete(ctx, rest)
        request_id = int.from_bytes(rest[8:], "big")
        request = lifecycle.load(ctx, request_id)
        if request is None or request["status"] not in EXPIRING:
            continue
        if lifecycle.deadline_of(ctx, request) != int.from_bytes(rest[:8], "big"):
            continue  # an older round's deadline; the request was amended since
        request["status"] = "expired"
        lifecycle.release_all(ctx, request)
        lifecycle.save(ctx, request_id, request)
        ctx.emit(Resolved, request=request_id, outcome="expired")


def try_state(state: StateReader) -> list[str]:
    """I3 (limits held at each disbursement) and I5 (reviewers and borrowers covered)."""
    problems = []
    for request_id, raw in APPROVALS.items(state):
        record = APPROVAL.unwire(raw)
        amount, size = record["amount"], record["size"]
        if amount * 10_000 > record["max_credit_bps"] * size:
            problems.append(f"I3: credit {request_id} of {amount} above max_credit of {size}")
        if record["outstanding_after"] * 10_000 > record["max_utilization_bps"] * size:
            problems.append(f"I3: credit {request_id} took outstanding above max_utilization")
        reviewers, borrowers = record["reviewers"], record["borrowers"]
        if len(reviewers) < record["min_reviewers"]:
            problems.append(f"I5: credit {request_id} has {len(reviewers)} reviewers")
        for label, parties in (("reviewers", reviewers), ("borrowers", borrowers)):
            if sum(p[2] for p in parties) != amount or any(p[2] > p[1] for p in parties):
                problems.append(f"I5: credit {request_id}: the {label}' trust did not cover it")
    problems.extend(_stake_problems(state))
    return problems


def _stake_problems(state: StateReader) -> list[str]:
    """I6 bookkeeping: trust in use = open requests' stakes + open loans' exposure (T5)."""
    problems: list[str] = []
    expected: dict[bytes, int] = {}
    for request_id, raw in REQUESTS.items(state):
        record = REQUEST.unwire(raw)
        if record["reserved"] and record["status"] not in OPEN_STATUSES:
            problems.append(f"T5: request {request_id} is {record['status']} and holds stakes")
        for account, amount in record["reserved"]:
            key = u32(record["fund"]) + account
            expected[key] = expected.get(key, 0) + amount
    for _, raw in LOANS.items(state):
        loan = LOAN.unwire(raw)
        for account, brought in loan["stakes"]:
            share = trust_api.exposure(brought, loan["principal"], loan["outstanding"])
            if share:
                key = u32(loan["fund"]) + account
                expected[key] = expected.get(key, 0) + share
    problems.extend(_named_problems(state))
    stored = dict(IN_USE.items(state))
    return problems + [
        f"I6: trust in use of 0x{key.hex()} is {stored.get(key, 0)}, its stakes sum to "
        f"{expected.get(key, 0)}"
        for key in sorted(set(expected) | set(stored))
        if stored.get(key, 0) != expected.get(key, 0)
    ]


def _named_problems(state: StateReader) -> list[str]:
    """Each account's ``named`` count is the number of open stakes that name it (G1)."""
    expected: dict[bytes, int] = {}
    for _, raw in REQUESTS.items(state):
        record = REQUEST.unwire(raw)
        if record["status"] in OPEN_STATUSES:
            for account, _ in record["reserved"]:
                expected[account] = expected.get(account, 0) + 1
    for _, raw in LOANS.items(state):
        loan = LOAN.unwire(raw)
        if loan["status"] == "active":
            for account, _ in loan["stakes"]:
                expected[account] = expected.get(account, 0) + 1
    stored = {account: count for account, count in NAMED.items(state)}
    return [
        f"T5: 0x{account.hex()} is named by {stored.get(account, 0)} open stakes, "
        f"{expected.get(account, 0)} exist"
        for account in sorted(set(expected) | set(stored))
        if stored.get(account, 0) != expected.get(account, 0)
    ]


HOOKS = Hooks(on_initialize=on_initialize, on_finalize=on_finalize, try_state=try_state)
