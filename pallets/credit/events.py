"""Credit events."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, AMOUNT, HASH, U8, U32, U64, Text
from pallets.support.declare import EventSet

events = EventSet("credit")

RequestSubmitted: Final = events.define(
    "RequestSubmitted",
    (("request", U64), ("fund", U32), ("submitter", ACCOUNT), ("amount", AMOUNT)),
    doc="a credit request was submitted (C1)",
)
RequestSigned: Final = events.define(
    "RequestSigned", (("request", U64), ("borrower", ACCOUNT)), doc="a co-borrower signed (C2)"
)
RequestValid: Final = events.define(
    "RequestValid",
    (("request", U64), ("score", U8), ("draw_height", U64)),
    doc="every borrower signed; the reviewers are drawn at draw_height (C5, C6)",
)
ReviewersDrawn: Final = events.define(
    "ReviewersDrawn",
    (("request", U64), ("seed", HASH), ("reviewers", U32)),
    doc="reviewers were drawn with this seed (C6)",
)
Unreviewable: Final = events.define(
    "Unreviewable",
    (("request", U64),),
    doc="the fund's eligible funders together cannot cover the amount (C6)",
)
Endorsed: Final = events.define(
    "Endorsed", (("request", U64), ("by", ACCOUNT), ("score", U8)), doc="C5"
)
ConflictDeclared: Final = events.define(
    "ConflictDeclared", (("request", U64), ("reviewer", ACCOUNT), ("reason_hash", HASH)), doc="C7"
)
ConflictAccepted: Final = events.define(
    "ConflictAccepted",
    (("request", U64), ("reviewer", ACCOUNT)),
    doc="every other reviewer accepted the conflicted reviewer (C7)",
)
ReviewerReplaced: Final = events.define(
    "ReviewerReplaced",
    (("request", U64), ("reviewer", ACCOUNT)),
    doc="a conflicted reviewer was not accepted and will be replaced by a new draw (C7)",
)
Verdict: Final = events.define(
    "Verdict",
    (("request", U64), ("reviewer", ACCOUNT), ("verdict", Text(8)), ("conclusions_hash", HASH)),
    doc="a reviewer resolved (C8)",
)
Resolved: Final = events.define(
    "Resolved",
    (("request", U64), ("outcome", Text(24))),
    doc="approved, declined, needs_improvement, expired or withdrawn (C8)",
)
Amended: Final = events.define(
    "Amended", (("request", U64), ("round", U32)), doc="the borrowers amended the request (C8)"
)
DocumentPurged: Final = events.define(
    "DocumentPurged",
    (("document", HASH),),
    doc="governance erased a document from every node's document store (F10)",
)
