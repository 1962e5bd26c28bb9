"""Members storage (G1).

Keys (a bioregion id NUL-padded to 32 bytes, as the health pallet keys it,
so composite keys are fixed-width and sort by bioregion):

* ``members/member/<account>``: the membership record: bioregion, the hash of
  the attestation a registrar saw (no personal data), when, by whom.
* ``members/attestation/<hash>``: the account holding that attestation: one
  person, one membership.
* ``members/by_bioregion/<id32><account>``: index of members by bioregion.
* ``members/registrar/<id32><account>``: the registrars of each bioregion,
  set by governance (at most ``MAX_REGISTRARS`` per bioregion).
* ``members/revoked/<hash>``: for an attestation whose membership was
  revoked, the governance round of the revocation and the account revoked:
  until that round ends the attestation backs no *other* account, so one
  person cannot hold two voice-credit budgets in one round (G1, G2).
* ``members/count``: the number of members (quorum's denominator, G5).
* ``members/recovery/<account>``: a registrar's pending recovery of a
  member whose key is lost: the new key, the registrar, when it started.
* ``members/key_since/<account>``: when a member's key took over from an
  earlier key of the same person (absent: the key they registered with).
"""

from __future__ import annotations

from typing import Final

from pallets.health.storage import BIOREGION, BIOREGION_LEN
from pallets.support.argtypes import ACCOUNT, BOOL, HASH, U64, Optional
from pallets.support.records import RecordType
from pallets.support.storage import ACCOUNT_KEY, HASH_KEY, FixedKey, StorageSet

MAX_REGISTRARS: Final = 32  # per bioregion: bounds the walk that counts them

MEMBER: Final = RecordType(
    "member",
    (
        ("bioregion", BIOREGION),
        ("attestation", HASH),
        ("registered", U64),  # block time
        ("registrar", Optional(ACCOUNT)),  # None: listed in genesis
    ),
)
REVOCATION: Final = RecordType("revocation", (("round", U64), ("account", ACCOUNT)))
RECOVERY: Final = RecordType(
    "recovery", (("new", ACCOUNT), ("registrar", ACCOUNT), ("started", U64))
)
REGION_ACCOUNT_KEY: Final = FixedKey("bioregion_account", BIOREGION_LEN + 32)

storage = StorageSet("members")

MEMBERS: Final = storage.map(
    "member", ACCOUNT_KEY, Optional(MEMBER.record), default=None, doc="memberships by account (G1)"
)
ATTESTATIONS: Final = storage.map(
    "attestation",
    HASH_KEY,
    Optional(ACCOUNT),
    default=None,
    doc="the account holding each attestation hash: one person, one membership (G1)",
)
BY_BIOREGION: Final = storage.map(
    "by_bioregion", REGION_ACCOUNT_KEY, BOOL, default=False, doc="members by bioregion (index)"
)
REGISTRARS: Final = storage.map(
    "registrar",
    REGION_ACCOUNT_KEY,
    BOOL,
    default=False,
    doc="registrars of each bioregion, set by governance (G1)",
)
REVOKED: Final = storage.map(
    "revoked",
    HASH_KEY,
    Optional(REVOCATION.record),
    default=None,
    doc="the round and account of an attestation's last revocation: no other account in that round",
)
RECOVERIES: Final = storage.map(
    "recovery",
    ACCOUNT_KEY,
    Optional(RECOVERY.record),
    default=None,
    doc="a registrar's pending recovery of a member's lost key, by the member's key (G1)",
)
KEY_SINCE: Final = storage.map(
    "key_since",
    ACCOUNT_KEY,
    U64,
    default=0,
    doc="when a member's key replaced an earlier key of the same person (G1)",
)
COUNT: Final = storage.value("count", U64, default=0, doc="number of members (G5's quorum base)")
