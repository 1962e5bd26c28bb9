"""What other pallets (governance), RPC queries and the wallet use of members.

Reads plus the small write helpers that the calls and the genesis hook
share, so that the member count, the attestation index and the bioregion
index always change together (``try_state`` checks they agree).

Members are counted in governance rounds (an attestation revoked in a round
backs no other account until the next, G1), but governance builds on this
pallet, so the round comes through the ``ROUND`` hook, which
pallets/construct.py connects to the governance pallet's clock. With nothing
connected every moment is round 0.
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
    MEMBER,
    MEMBERS,
    REGISTRARS,
)
from pallets.support.storage import StateWriter
from pallets.support.wiring import Hook, Reader

MAX_LIST: Final = 1000

RoundClock = Callable[[Reader], int]  # state -> the index of the governance round now
ROUND: Final = Hook[RoundClock](
    "members.round", "the governance round now, for revoked attestations (G1)", single=True
)


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
