"""What other pallets (governance), RPC queries and the wallet use of members.

Reads plus the small write helpers that the calls and the genesis hook
share, so that the member count, the attestation index and the bioregion
index always change together (``try_state`` checks they agree).

Members are counted in governance rounds (an attestation revoked in a round
backs no other account until the next, G1), but governance builds on this
pallet, so the round comes through the ``ROUND`` hook, which
pallets/construct.py connects to the governance pallet's clock. With nothing
connected every moment is round 0.

A person keeps their membership when their key changes (G1 key rotation):
the other pallets' per-person state follows through ``KEY_ROTATED`` (trust:
the index at every fund; loans: the credit history), and any of them may
refuse the change for now through ``ROTATION_GUARDS`` (trust still in use;
a vote cast this governance round). pallets/construct.py connects both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ledger.overlay import StateReader
from pallets.health.storage import pad, unpad
from pallets.members.storage import (
    ATTESTATIONS,
    BY_BIOREGION,
    COUNT,
    KEY_SINCE,
    MEMBER,
    MEMBERS,
    RECOVERIES,
    RECOVERY,
    REGISTRARS,
)
from pallets.support.context import CallContext
from pallets.support.declare import RuntimeFault
from pallets.support.storage import StateWriter
from pallets.support.wiring import Hook, Reader

MAX_LIST: Final = 1000

RoundClock = Callable[[Reader], int]  # state -> the index of the governance round now
ROUND: Final = Hook[RoundClock](
    "members.round", "the governance round now, for revoked attestations (G1)", single=True
)


# The storage operations a key change may use, guards and listeners included
# (its declared weight), counted for the worst case: trust, guard and move of
# 64 funds for each key (2 x 66 + 65 + 64 x 5 = 517); funds, 16 seats
# (17 + 16 x 3, then 17 + 16 x 5 = 162); credit, 16 cooldowns (2 x 34 +
# 16 x 3 = 116); governance 3; loans 4; members 18. Total 820, with margin.
KEY_CHANGE_WORK: Final = 900

# (state, old key, new key) -> why the person cannot change keys now, or None
RotationGuard = Callable[[Reader, bytes, bytes], str | None]
ROTATION_GUARDS: Final = Hook[RotationGuard](
    "members.rotation_guards", "why a person's per-person state cannot move to a new key now (G1)"
)
# (state, account) -> why the account cannot stop being a person now, or None
RevocationGuard = Callable[[Reader, bytes], str | None]
REVOCATION_GUARDS: Final = Hook[RevocationGuard](
    "members.revocation_guards",
    "why a member cannot be revoked now (T1: trust still covers stakes)",
)
# (ctx, old key, new key): move the pallet's per-person state
KeyListener = Callable[[CallContext, bytes, bytes], None]
KEY_ROTATED: Final = Hook[KeyListener](
    "members.key_rotated", "a person's key changed: per-person state follows them (G1)"
)


def rotation_blocker(state: Reader, old: bytes, new: bytes) -> str | None:
    """The first reason (of any pallet) why ``old`` cannot hand over to ``new`` now."""
    for guard in state.wiring.get(ROTATION_GUARDS):
        reason = guard(state, old, new)
        if reason is not None:
            return reason
    return None


def revocation_blocker(state: Reader, account: bytes) -> str | None:
    """The first reason (of any pallet) why the member cannot be revoked now."""
    for guard in state.wiring.get(REVOCATION_GUARDS):
        reason = guard(state, account)
        if reason is not None:
            return reason
    return None


def move_member(ctx: CallContext, old: bytes, new: bytes) -> dict[str, Any]:
    """Move the membership from ``old`` to ``new`` and tell the listeners; the record."""
    raw = MEMBERS.get(ctx, old)
    if raw is None:
        raise RuntimeFault("move_member of an account that is not a member")
    record = MEMBER.unwire(raw)
    MEMBERS.delete(ctx, old)
    MEMBERS.put(ctx, new, raw)
    ATTESTATIONS.put(ctx, record["attestation"], new)
    BY_BIOREGION.delete(ctx, pad(record["bioregion"]) + old)
    BY_BIOREGION.put(ctx, pad(record["bioregion"]) + new, True)
    KEY_SINCE.delete(ctx, old)
    KEY_SINCE.put(ctx, new, ctx.block.time)
    for listener in ctx.wiring.get(KEY_ROTATED):
        listener(ctx, old, new)
    return record


def recovery(state: StateReader, account: bytes) -> dict[str, Any] | None:
    """A pending recovery of the member's key: the new key, the registrar, when it started."""
    raw = RECOVERIES.get(state, account)
    return None if raw is None else RECOVERY.unwire(raw)


def key_since(state: StateReader, account: bytes) -> int:
    """When the member's key replaced an earlier one (0: the key they registered with)."""
    value: int = KEY_SINCE.get(state, account)
    return value


def round_now(state: Reader) -> int:
    clocks = state.wiring.get(ROUND)
    return clocks[0](state) if clocks else 0


def is_member(state: StateReader, account: bytes) -> bool:
    return MEMBERS.contains(state, account)


def member_count(state: StateReader) -> int:
    value: int = COUNT.get(state)
    return value


def member(state: StateReader, account: bytes) -> dict[str, Any] | None:
    """``{bioregion, attestation, registered, registrar}`` or None."""
    raw = MEMBERS.get(state, account)
    return None if raw is None else MEMBER.unwire(raw)


def member_bioregion(state: StateReader, account: bytes) -> str | None:
    record = member(state, account)
    return None if record is None else str(record["bioregion"])


def holder_of(state: StateReader, attestation: bytes) -> bytes | None:
    """The account whose membership this attestation hash backs, if any."""
    holder: bytes | None = ATTESTATIONS.get(state, attestation)
    return holder


def is_registrar(state: StateReader, bioregion: str, account: bytes) -> bool:
    return bool(REGISTRARS.get(state, pad(bioregion) + account))


def registrars(state: StateReader, bioregion: str | None = None) -> list[tuple[str, bytes]]:
    """``(bioregion, account)`` of every registrar (of one bioregion), sorted."""
    prefix = REGISTRARS.prefix + (b"" if bioregion is None else pad(bioregion))
    return [_split(key[len(REGISTRARS.prefix) :]) for key, _ in state.iterate(prefix)][:MAX_LIST]


def members(state: StateReader, bioregion: str | None = None) -> list[bytes]:
    """The members (of one bioregion), sorted by bioregion then account; at most MAX_LIST."""
    if bioregion is None:
        return [account for account, _ in _first(MEMBERS.items(state))]
    prefix = BY_BIOREGION.prefix + pad(bioregion)
    return [key[-32:] for key, _ in _first(state.iterate(prefix))]


def add_member(
    state: StateWriter,
    account: bytes,
    bioregion: str,
    attestation: bytes,
    time: int,
    registrar: bytes | None,
) -> None:
    record = {
        "bioregion": bioregion,
        "attestation": attestation,
        "registered": time,
        "registrar": registrar,
    }
    MEMBERS.put(state, account, MEMBER.wire(record))
    ATTESTATIONS.put(state, attestation, account)
    BY_BIOREGION.put(state, pad(bioregion) + account, True)
    COUNT.put(state, member_count(state) + 1)


def remove_member(state: StateWriter, account: bytes, record: dict[str, Any]) -> None:
    MEMBERS.delete(state, account)
    KEY_SINCE.delete(state, account)
    RECOVERIES.delete(state, account)
    ATTESTATIONS.delete(state, record["attestation"])
    BY_BIOREGION.delete(state, pad(record["bioregion"]) + account)
    COUNT.put(state, member_count(state) - 1)


def _split(key: bytes) -> tuple[str, bytes]:
    return unpad(key[:-32]), key[-32:]


def _first(items: Any) -> list[Any]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= MAX_LIST:
            break
    return out
