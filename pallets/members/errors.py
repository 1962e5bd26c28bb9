"""Members errors; each cites the rule it enforces."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("members")

UnknownBioregion: Final = errors.define(
    0, "UnknownBioregion", rule="G1", doc="the bioregion is not registered (H1)"
)
NotRegistrar: Final = errors.define(
    1, "NotRegistrar", rule="G1", doc="the account is not a registrar of the bioregion"
)
AlreadyRegistrar: Final = errors.define(
    2, "AlreadyRegistrar", rule="G1", doc="the account is already a registrar of the bioregion"
)
TooManyRegistrars: Final = errors.define(
    3, "TooManyRegistrars", rule="G1", doc="the bioregion has the most registrars allowed"
)
AlreadyMember: Final = errors.define(
    4, "AlreadyMember", rule="G1", doc="the account already holds a membership"
)
AttestationUsed: Final = errors.define(
    5,
    "AttestationUsed",
    rule="G1",
    doc="the attestation already backs a membership: one person, one membership",
)
NotMember: Final = errors.define(6, "NotMember", rule="G1", doc="the account is not a member")
SameKey: Final = errors.define(
    8, "SameKey", rule="G1", doc="the new key is the key the member already has"
)
KeyTaken: Final = errors.define(
    9, "KeyTaken", rule="G1", doc="the new key already belongs to a member"
)
TooSoon: Final = errors.define(
    10,
    "TooSoon",
    rule="G1",
    doc="the member changed keys less than recovery_delay ago, or the recovery's delay "
    "has not passed",
)
CannotMove: Final = errors.define(
    11,
    "CannotMove",
    rule="G1",
    doc="what follows the person cannot move now (trust in use, a vote this round...)",
)
NoRecovery: Final = errors.define(
    12, "NoRecovery", rule="G1", doc="no recovery of this member's key is pending"
)
RecoveryPending: Final = errors.define(
    13, "RecoveryPending", rule="G1", doc="a recovery of this member's key is already pending"
)
RevokedThisRound: Final = errors.define(
    7,
    "RevokedThisRound",
    rule="G1",
    doc="the attestation's membership was revoked in this governance round; until it ends the "
    "attestation backs only the account it was revoked from (one voice-credit budget per person)",
)
