"""Trust invariants: I2 extended to trust (no index is negative or malformed) and I6
(trust in use never above trust, T5)."""

from __future__ import annotations

from ledger import codec
from ledger.codec import CodecError
from pallets.support.declare import Hooks
from pallets.support.wiring import Reader
from pallets.trust.api import trust_of
from pallets.trust.storage import FUNDS_OF, IN_USE, TRUST


def try_state(state: Reader) -> list[str]:
    problems = []
    for key, raw in state.iterate(TRUST.prefix):
        where = "0x" + key[len(TRUST.prefix) :].hex()
        try:
            value = codec.decode(raw)
        except CodecError as exc:
            problems.append(f"trust: index {where} does not decode: {exc}")
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"trust: index {where} is not an integer")
        elif value < 0:
            problems.append(f"I2: trust index {where} is negative ({value})")
    problems.extend(_exposure_problems(state))
    problems.extend(_index_problems(state))
    return problems


def _index_problems(state: Reader) -> list[str]:
    """Every stored index and trust in use is in ``funds_of`` (what a key change moves, G1)."""
    problems = []
    for item in (TRUST, IN_USE):
        cut = len(item.prefix)
        for key, _ in state.iterate(item.prefix):
            fund, account = key[cut : cut + 4], key[cut + 4 :]
            if not FUNDS_OF.get(state, account + fund):
                where = f"fund {int.from_bytes(fund, 'big')} account 0x{account.hex()}"
                problems.append(f"G1: {where} has trust recorded but no funds_of entry")
    return problems


def _exposure_problems(state: Reader) -> list[str]:
    problems = []
    cut = len(IN_USE.prefix)
    for key, raw in state.iterate(IN_USE.prefix):
        fund_id, account = int.from_bytes(key[cut : cut + 4], "big"), key[cut + 4 :]
        where = f"fund {fund_id} account 0x{account.hex()}"
        try:
            used = codec.decode(raw)
        except CodecError as exc:
            problems.append(f"trust: in use of {where} does not decode: {exc}")
            continue
        if isinstance(used, bool) or not isinstance(used, int) or used <= 0:
            problems.append(f"trust: in use of {where} is {used!r}, not a positive integer")
            continue
        trust = trust_of(state, fund_id, account)
        if used > trust:
            problems.append(f"I6: {where} has {used} of trust in use, above its trust {trust}")
    return problems


HOOKS = Hooks(try_state=try_state)
