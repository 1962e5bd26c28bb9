"""What RPC queries, the wallet and the tests use of governance: reads and keys.

``quadratic_cost(votes) = votes²`` (G3); ``deposit_account()`` is the module
account that holds proposal deposits (covered by I1 like every balance).
"""

from __future__ import annotations

from typing import Any, Final

from ledger import codec
from ledger.overlay import StateReader
from pallets.balances.currency import module_account
from pallets.governance.rounds import current_index
from pallets.governance.storage import BALLOTS, PROPOSAL, PROPOSALS, SPENT
from pallets.support.storage import StateWriter

DEPOSIT_MODULE: Final = "governance/deposits"


def deposit_account() -> bytes:
    return module_account(DEPOSIT_MODULE)


def quadratic_cost(votes: int) -> int:
    return votes * votes


def pair(first: int, second: int) -> bytes:
    return first.to_bytes(8, "big") + second.to_bytes(8, "big")


def account_key(number: int, account: bytes) -> bytes:
    return number.to_bytes(8, "big") + account


def find_proposal(state: StateReader, proposal_id: int) -> dict[str, Any] | None:
    raw = PROPOSALS.get(state, proposal_id)
    return None if raw is None else PROPOSAL.unwire(raw)


def put_proposal(state: StateWriter, proposal_id: int, record: dict[str, Any]) -> None:
    PROPOSALS.put(state, proposal_id, PROPOSAL.wire(record))


def ballot(state: StateReader, proposal_id: int, account: bytes) -> int:
    """A member's signed votes on a proposal (0: none)."""
    value: int = BALLOTS.get(state, account_key(proposal_id, account))
    return value


def ballots(state: StateReader, proposal_id: int) -> list[tuple[bytes, int]]:
    """Every (voter, signed votes) on a proposal, by account."""
    prefix = BALLOTS.prefix + proposal_id.to_bytes(8, "big")
    return [(key[-32:], int(codec.decode(raw))) for key, raw in state.iterate(prefix)]


def spent(state: StateReader, round_index: int, account: bytes) -> int:
    """Voice credits ``account`` spent in ``round_index`` (G3)."""
    value: int = SPENT.get(state, account_key(round_index, account))
    return value


def voted_this_round(state: StateReader, old: bytes, new: bytes) -> str | None:
    """Why a member's key cannot change now (G1, G2), or None.

    Spending is kept per key: a new key in the round the old one voted in
    would give one person a second voice-credit budget.
    """
    round_index = current_index(state)
    if spent(state, round_index, old) > 0:
        return f"the member voted in governance round {round_index}; change keys in the next"
    return None
