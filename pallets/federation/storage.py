"""Federation storage (X1-X3).

Keys (a *pair* is two fund ids, ``u32 || u32``):

* ``federation/agreement/<low><high>``: an agreement in force, once, under
  the sorted pair (X1);
* ``federation/link/<fund><partner>``: the agreement's options, written in
  both directions, so a fund's partners are one prefix walk (T2, C6, X3);
* ``federation/consent/<fund><partner>``: the fund's funders consented to
  federate with these options (F8); it waits for the partner's consent;
* ``federation/terms/<proposal u64>``: the partner and options of a funds
  consent proposal of kind ``federate`` or ``unfederate``;
* ``federation/share/<partner><losing fund>``: loss shares assessed and paid
  in total between two funds (X3), and ``federation/debt/<same>``: what is
  still owed (absent when nothing is); ``federation/loss/<loan u64>``: each
  shared write-off; ``federation/debtor_queue/<height u64><fund>`` and
  ``federation/queued/<fund>``: the FIFO of funds that owe, for the sweep;
* ``federation/split/<split id>`` and ``federation/split_of/<request u64>``:
  split credits (X2).
"""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    HASH,
    U8,
    U32,
    U64,
    List,
    Optional,
    Record,
)
from pallets.support.records import RecordType
from pallets.support.storage import HASH_KEY, U32_KEY, U64_KEY, FixedKey, StorageSet
from pallets.trust.api import MAX_RECOGNIZED

# The three independent options of an agreement (X1), as bits.
TRUST: Final = 1  # recognize each other's trust (T2)
REVIEWERS: Final = 2  # lend reviewers (C6)
LOSSES: Final = 4  # share losses (X3)
OPTION_BITS: Final = (("trust", TRUST), ("reviewers", REVIEWERS), ("losses", LOSSES))
ALL_OPTIONS: Final = TRUST | REVIEWERS | LOSSES

MAX_PARTNERS: Final = MAX_RECOGNIZED  # agreements per fund: bounds every partner walk
MAX_SPLIT_PARTS: Final = 4

PAIR_KEY: Final = FixedKey("fund_pair", 4 + 4)
OPTIONS: Final = U8

AGREEMENT: Final = RecordType(
    "agreement",
    (
        ("options", OPTIONS),
        ("since", U64),
        ("proposals", List(U64, 2, min_len=2)),  # the low fund's, then the high fund's
    ),
)
CONSENT: Final = RecordType("consent", (("options", OPTIONS), ("proposal", U64), ("passed", U64)))
TERMS: Final = RecordType("terms", (("fund", U32), ("partner", U32), ("options", OPTIONS)))
SHARE_LEDGER: Final = Record("share_ledger", (("shared", AMOUNT), ("paid", AMOUNT)))
LOSS_PART: Final = Record("loss_part", (("partner", U32), ("paid", AMOUNT), ("owed", AMOUNT)))
LOSS: Final = RecordType(
    "loss",
    (
        ("fund", U32),
        ("missing", AMOUNT),
        ("share", AMOUNT),
        ("parts", List(LOSS_PART, MAX_PARTNERS, min_len=1)),
        ("time", U64),
    ),
)
SPLIT: Final = RecordType(
    "split",
    (
        ("submitter", ACCOUNT),
        ("requests", List(U64, MAX_SPLIT_PARTS, min_len=2)),
        ("funds", List(U32, MAX_SPLIT_PARTS, min_len=2)),
        ("amount", AMOUNT),
        ("created", U64),
    ),
)

storage = StorageSet("federation")

AGREEMENTS: Final = storage.map(
    "agreement",
    PAIR_KEY,
    Optional(AGREEMENT.record),
    default=None,
    doc="agreements in force, under the sorted pair of fund ids (X1)",
)
LINKS: Final = storage.map(
    "link",
    PAIR_KEY,
    OPTIONS,
    default=0,
    doc="<fund><partner> -> the options of their agreement, in both directions",
)
CONSENTS: Final = storage.map(
    "consent",
    PAIR_KEY,
    Optional(CONSENT.record),
    default=None,
    doc="<fund><partner>: the fund's funders consented (F8); waits for the partner's",
)
TERMS_OF: Final = storage.map(
    "terms",
    U64_KEY,
    Optional(TERMS.record),
    default=None,
    doc="partner and options of each federate / unfederate consent proposal",
)
SHARES: Final = storage.map(
    "share",
    PAIR_KEY,
    SHARE_LEDGER,
    default=[0, 0],
    doc="<partner><losing fund>: loss shares assessed and paid in total (X3)",
)
DEBTS: Final = storage.map(
    "debt",
    PAIR_KEY,
    AMOUNT,
    default=0,
    doc="<debtor><creditor>: loss shares still owed, paid first from later cash (X3)",
)
LOSSES_SHARED: Final = storage.map(
    "loss",
    U64_KEY,
    Optional(LOSS.record),
    default=None,
    doc="each written-off loan whose loss was shared, with every partner's part (X3)",
)
DEBTOR_QUEUE: Final = storage.map(
    "debtor_queue",
    FixedKey("height_fund", 8 + 4),
    U8,
    default=0,
    doc="funds that owe, by the height they were (re)queued: the debt sweep's FIFO (X3)",
)
QUEUED: Final = storage.map(
    "queued",
    U32_KEY,
    Optional(U64),
    default=None,
    doc="the queue height of each fund in debtor_queue (one entry per fund)",
)
SPLITS: Final = storage.map(
    "split", HASH_KEY, Optional(SPLIT.record), default=None, doc="split credits by id (X2)"
)
SPLIT_OF: Final = storage.map(
    "split_of", U64_KEY, Optional(HASH), default=None, doc="the split a request is part of (X2)"
)


def pair(fund_id: int, partner: int) -> bytes:
    """The key of an ordered pair (``link``, ``consent``, ``share``, ``debt``)."""
    return fund_id.to_bytes(4, "big") + partner.to_bytes(4, "big")


def sorted_pair(a: int, b: int) -> bytes:
    """The key of an agreement: the pair in increasing order."""
    return pair(min(a, b), max(a, b))


def option_names(options: int) -> list[str]:
    return [name for name, bit in OPTION_BITS if options & bit]
