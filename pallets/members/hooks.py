"""Members invariants: the count, the attestation index and the bioregion index
agree with the membership records (G1: one person, one membership).
"""

from __future__ import annotations

from ledger.overlay import StateReader
from pallets.health.storage import pad
from pallets.members.storage import ATTESTATIONS, BY_BIOREGION, COUNT, MEMBER, MEMBERS
from pallets.support.declare import Hooks


def try_state(state: StateReader) -> list[str]:
    problems = []
    counted = 0
    for account, raw in MEMBERS.items(state):
        counted += 1
        record = MEMBER.unwire(raw)
        if ATTESTATIONS.get(state, record["attestation"]) != account:
            problems.append(f"G1: member 0x{account.hex()} is not its attestation's holder")
        if not BY_BIOREGION.get(state, pad(record["bioregion"]) + account):
            problems.append(f"members: 0x{account.hex()} missing from its bioregion index")
    attestations = sum(1 for _ in state.iterate(ATTESTATIONS.prefix))
    indexed = sum(1 for _ in state.iterate(BY_BIOREGION.prefix))
    stored = COUNT.get(state)
    if not stored == counted == attestations == indexed:
        problems.append(
            f"G1: {stored} members counted, {counted} records, {attestations} attestations, "
            f"{indexed} indexed"
        )
    return problems


HOOKS = Hooks(try_state=try_state)
