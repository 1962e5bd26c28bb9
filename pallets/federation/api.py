"""Federation as queries see it: agreements, consents, loss-share ledgers, splits.

Read-only helpers over a ``StateReader`` (a committed state for RPC, any
block with ``at``), returning plain dicts of ints and bytes; the RPC module
turns them into JSON. Every walk is bounded by the size of the federation
tables, which a fund's MAX_PARTNERS agreements keep small.
"""

from __future__ import annotations

from typing import Any

from ledger.overlay import StateReader
from pallets.federation.agreements import agreement, consent, partners
from pallets.federation.storage import (
    AGREEMENT,
    AGREEMENTS,
    DEBTS,
    LOSS,
    LOSSES_SHARED,
    SHARES,
    SPLIT,
    SPLIT_OF,
    SPLITS,
    pair,
)
from pallets.support.records import u32


def all_agreements(state: StateReader, fund_id: int | None = None) -> list[dict[str, Any]]:
    """Agreements in force: every one, or the fund's (by partner id)."""
    if fund_id is None:
        rows = [
            (int.from_bytes(key[:4], "big"), int.from_bytes(key[4:], "big"), raw)
            for key, raw in AGREEMENTS.items(state)
        ]
        return [{"funds": [a, b], **AGREEMENT.unwire(raw)} for a, b, raw in rows]
    found = []
    for partner, _ in partners(state, fund_id):
        record = agreement(state, fund_id, partner)
        if record is not None:
            found.append({"funds": sorted((fund_id, partner)), **record})
    return found


def between(state: StateReader, a: int, b: int) -> dict[str, Any]:
    """The agreement of two funds (or None), each one's pending consent, and their ledgers."""
    return {
        "agreement": agreement(state, a, b),
        "consents": {a: consent(state, a, b), b: consent(state, b, a)},
        "ledgers": {a: ledger(state, a, b), b: ledger(state, b, a)},
    }


def ledger(state: StateReader, debtor: int, creditor: int) -> dict[str, int]:
    """X3 between two funds: shares assessed on ``debtor`` for ``creditor``'s losses."""
    shared, paid = SHARES.get(state, pair(debtor, creditor))
    return {"shared": shared, "paid": paid, "owed": DEBTS.get(state, pair(debtor, creditor))}


def debts(state: StateReader, fund_id: int | None = None) -> list[dict[str, int]]:
    """Every share ledger (or those of one fund, as debtor or creditor), with what is owed."""
    rows = []
    for key, (shared, paid) in SHARES.items(state):
        debtor, creditor = int.from_bytes(key[:4], "big"), int.from_bytes(key[4:], "big")
        if fund_id is not None and fund_id not in (debtor, creditor):
            continue
        owed: int = DEBTS.get(state, key)
        rows.append(
            {"debtor": debtor, "creditor": creditor, "shared": shared, "paid": paid, "owed": owed}
        )
    return rows


def owed_by(state: StateReader, fund_id: int) -> int:
    """What the fund still owes federated funds in all (X3)."""
    prefix = DEBTS.prefix + u32(fund_id)
    return sum(DEBTS.get(state, key[len(DEBTS.prefix) :]) for key, _ in state.iterate(prefix))


def loss(state: StateReader, loan_id: int) -> dict[str, Any] | None:
    raw = LOSSES_SHARED.get(state, loan_id)
    return None if raw is None else LOSS.unwire(raw)


def split_of(state: StateReader, request_id: int) -> tuple[bytes, dict[str, Any]] | None:
    """The split credit a request is part of: (split id, record), or None."""
    split_id = SPLIT_OF.get(state, request_id)
    if split_id is None:
        return None
    raw = SPLITS.get(state, split_id)
    return None if raw is None else (split_id, SPLIT.unwire(raw))
