"""Balances invariants: I1 (sum of balances = total issuance), I2 (none negative).

The balances are read raw (not through the typed accessor, which would refuse
a negative value with an exception) so that a broken state is *reported*,
naming the account and the invariant.
"""

from __future__ import annotations

from ledger import codec
from ledger.codec import CodecError
from ledger.overlay import StateReader
from pallets.balances.currency import module_account
from pallets.balances.storage import FREE, MODULE_ACCOUNTS, TOTAL_ISSUANCE
from pallets.support.declare import Hooks


def try_state(state: StateReader) -> list[str]:
    problems = []
    total = 0
    cut = len(FREE.prefix)
    for key, raw in state.iterate(FREE.prefix):
        account = "0x" + key[cut:].hex()
        try:
            balance = codec.decode(raw)
        except CodecError as exc:
            problems.append(f"balances: balance of {account} does not decode: {exc}")
            continue
        if isinstance(balance, bool) or not isinstance(balance, int):
            problems.append(f"balances: balance of {account} is not an integer")
            continue
        if balance < 0:
            problems.append(f"I2: balance of {account} is negative ({balance})")
        elif balance == 0:
            problems.append(f"balances: zero balance of {account} stored, not absent")
        total += balance
    issuance = TOTAL_ISSUANCE.get(state)
    if total != issuance:
        problems.append(f"I1: balances sum to {total}, total issuance is {issuance}")
    for account_id, name in MODULE_ACCOUNTS.items(state):
        if module_account(name) != account_id:
            problems.append(f"balances: module account {name!r} has a wrong id")
    return problems


HOOKS = Hooks(try_state=try_state)
