"""Credit errors; each cites the rule of spec/credit-rules.md it enforces.

C4's errors (FundNotActive, CreditTooLarge, UtilizationExceeded) come from
the funds pallet's one shared check and carry the ``funds`` pallet name.
"""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("credit")

UnknownRequest: Final = errors.define(0, "UnknownRequest", rule="C1", doc="no such request")
SubmitterNotBorrower: Final = errors.define(
    1, "SubmitterNotBorrower", rule="C1", doc="the submitter must be one of the borrowers"
)
PurposeNotServed: Final = errors.define(
    2, "PurposeNotServed", rule="C1", doc="the purpose must be one the fund serves"
)
BadTerms: Final = errors.define(
    3,
    "BadTerms",
    rule="C1",
    doc="a positive amount, 1 to 120 installments and a term of at least one second each",
)
NotBorrower: Final = errors.define(
    4, "NotBorrower", rule="C2", doc="only a named borrower may sign the request"
)
AlreadySigned: Final = errors.define(5, "AlreadySigned", rule="C2", doc="one signature each")
InsufficientTrust: Final = errors.define(
    6,
    "InsufficientTrust",
    rule="C3",
    doc="the borrowers' pooled trust (same percentage each) must cover the amount",
)
WrongStatus: Final = errors.define(
    7, "WrongStatus", rule="C8", doc="the request is not in a state that allows this"
)
NotReviewer: Final = errors.define(
    8, "NotReviewer", rule="C6", doc="only a drawn reviewer of the request may do this"
)
ConflictPending: Final = errors.define(
    9,
    "ConflictPending",
    rule="C7",
    doc="a declared conflict must be accepted by every other reviewer or replaced first",
)
AlreadyDeclared: Final = errors.define(
    10, "AlreadyDeclared", rule="C7", doc="the conflict was already declared"
)
NoSuchConflict: Final = errors.define(
    11, "NoSuchConflict", rule="C7", doc="that reviewer has declared no conflict"
)
TooEarly: Final = errors.define(
    12, "TooEarly", rule="C8", doc="reviewers resolve no earlier than review_min after validity"
)
TooLate: Final = errors.define(
    13, "TooLate", rule="C8", doc="without a resolution by review_max the request expires"
)
AlreadyResolved: Final = errors.define(
    14, "AlreadyResolved", rule="C8", doc="a reviewer gives one verdict per review round"
)
CannotEndorse: Final = errors.define(
    15,
    "CannotEndorse",
    rule="C5",
    doc="endorsements come from the fund's funders who are not borrowers, once each",
)
ReviewerTrustShort: Final = errors.define(
    16,
    "ReviewerTrustShort",
    rule="C6",
    doc="the reviewers' combined trust must cover the amount at approval",
)
NotSubmitter: Final = errors.define(
    17, "NotSubmitter", rule="C8", doc="only the submitting borrower may amend or withdraw"
)
TooManyReplacements: Final = errors.define(
    18, "TooManyReplacements", rule="C7", doc="a request is drawn at most 8 times"
)
CannotDeclare: Final = errors.define(
    19,
    "CannotDeclare",
    rule="C7",
    doc="a conflict is declared by a drawn reviewer, or before the draw by a funder who "
    "is not a borrower",
)
ResubmitCooldown: Final = errors.define(
    20,
    "ResubmitCooldown",
    rule="C6",
    doc="a request withdrawn after its draw cannot be re-rolled: its borrowers may not "
    "submit to the same fund again for resubmit_cooldown",
)
BadDocumentHash: Final = errors.define(
    21,
    "BadDocumentHash",
    rule="F10",
    doc="a request's texts and documents are named by the blake2b-256 hashes of their "
    "contents; a hash of zeros names nothing",
)
AlreadyPurged: Final = errors.define(
    22, "AlreadyPurged", rule="F10", doc="that document was already purged by governance"
)
