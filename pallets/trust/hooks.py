"""Trust invariants: I2 extended to trust (no index is negative or malformed)."""

from __future__ import annotations

from ledger import codec
from ledger.codec import CodecError
from ledger.overlay import StateReader
from pallets.runtime.declare import Hooks
from pallets.trust.storage import TRUST


def try_state(state: StateReader) -> list[str]:
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
    return problems


HOOKS = Hooks(try_state=try_state)
