"""Members events."""

from __future__ import annotations

from typing import Final

from pallets.health.storage import BIOREGION
from pallets.support.argtypes import ACCOUNT, HASH, U64
from pallets.support.declare import EventSet

events = EventSet("members")

RegistrarAdded: Final = events.define(
    "RegistrarAdded",
    (("bioregion", BIOREGION), ("registrar", ACCOUNT)),
    doc="governance made an account a registrar of a bioregion (G1)",
)
RegistrarRemoved: Final = events.define(
    "RegistrarRemoved",
    (("bioregion", BIOREGION), ("registrar", ACCOUNT)),
    doc="governance removed a registrar (G1)",
)
MemberRegistered: Final = events.define(
    "MemberRegistered",
    (("member", ACCOUNT), ("bioregion", BIOREGION), ("attestation", HASH), ("registrar", ACCOUNT)),
    doc="a registrar registered a member on the hash of an attestation (G1)",
)
KeyRotated: Final = events.define(
    "KeyRotated",
    (("old", ACCOUNT), ("new", ACCOUNT), ("by", ACCOUNT)),
    doc="a member's membership, trust and history moved to a new key (G1); by the old key, "
    "or by the registrar of a completed recovery",
)
RecoveryStarted: Final = events.define(
    "RecoveryStarted",
    (("member", ACCOUNT), ("new", ACCOUNT), ("registrar", ACCOUNT), ("completes", U64)),
    doc="a registrar started the recovery of a lost key; the old key may cancel it until "
    "``completes`` (G1)",
)
RecoveryCancelled: Final = events.define(
    "RecoveryCancelled",
    (("member", ACCOUNT),),
    doc="the member's key cancelled a recovery: it was not lost (G1)",
)
MemberRevoked: Final = events.define(
    "MemberRevoked",
    (("member", ACCOUNT), ("bioregion", BIOREGION), ("registrar", ACCOUNT)),
    doc="a registrar of the member's bioregion revoked the membership (G1)",
)
