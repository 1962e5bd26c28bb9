"""Governance hooks: rounds begin in ``on_initialize``; tallies and enactments
run in ``on_finalize`` (tally.py); ``try_state`` checks I4 and the books.

I4: for every (round, member), the credits spent equal the sum of the
squares of the member's votes on that round's proposals and do not exceed
the round's budget. Each proposal's running tally equals its ballots, and
the deposit account holds at least the deposits still held (a transfer into it
by anyone is a gift that stays there).
"""

from __future__ import annotations

from collections import defaultdict

from ledger import codec
from ledger.overlay import StateReader
from pallets.balances.currency import free_balance
from pallets.governance import api, rounds, tally
from pallets.governance.storage import BALLOTS, BUDGETS, PROPOSAL, PROPOSALS, SPENT
from pallets.support.context import CallContext
from pallets.support.declare import Hooks


def on_initialize(ctx: CallContext) -> None:
    rounds.advance(ctx)


def on_finalize(ctx: CallContext) -> None:
    tally.run_due(ctx)


def try_state(state: StateReader) -> list[str]:
    problems: list[str] = []
    records = {pid: PROPOSAL.unwire(raw) for pid, raw in PROPOSALS.items(state)}
    squares: dict[tuple[int, bytes], int] = defaultdict(int)
    tallies: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for key, raw in state.iterate(BALLOTS.prefix):
        pid, voter, votes = int.from_bytes(key[-40:-32], "big"), key[-32:], codec.decode(raw)
        record = records.get(pid)
        if record is None:
            problems.append(f"governance: a ballot on unknown proposal {pid}")
            continue
        squares[(record["round"], voter)] += votes * votes
        row = tallies[pid]
        row[0] += max(votes, 0)
        row[1] += max(-votes, 0)
        row[2] += 1
        row[3] += votes * votes
    spent = {
        (int.from_bytes(key[-40:-32], "big"), key[-32:]): int(codec.decode(raw))
        for key, raw in state.iterate(SPENT.prefix)
    }
    for (round_index, voter), amount in sorted(spent.items()):
        budget: int = BUDGETS.get(state, round_index)
        if amount > budget:
            problems.append(
                f"I4: 0x{voter.hex()} spent {amount} voice credits in round {round_index}, "
                f"budget {budget}"
            )
    if spent != {k: v for k, v in squares.items() if v}:
        problems.append("I4: credits spent per round differ from the sum of votes² cast")
    held = 0
    for pid, record in sorted(records.items()):
        stored = [
            record["votes_for"],
            record["votes_against"],
            record["voters"],
            record["credits"],
        ]
        if stored != tallies.get(pid, [0, 0, 0, 0]):
            problems.append(f"governance: proposal {pid}'s tally {stored} differs from its ballots")
        if record["deposit_state"] == "held":
            held += record["deposit"]
    # At least the deposits held: anyone may transfer to the module account, and
    # such a gift must not make the books fail (it stays there, counted by I1).
    balance = free_balance(state, api.deposit_account())
    if balance < held:
        problems.append(f"governance: the deposit account holds {balance}, deposits held {held}")
    if rounds.budget(state, rounds.current_round(state)["index"]) == 0:
        problems.append("governance: the current round has no budget")
    return problems


HOOKS = Hooks(on_initialize=on_initialize, on_finalize=on_finalize, try_state=try_state)
