"""Federation errors; each cites the rule of spec/credit-rules.md it enforces."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("federation")

UnknownPartner: Final = errors.define(
    0, "UnknownPartner", rule="X1", doc="no fund has the partner id"
)
SelfAgreement: Final = errors.define(
    1, "SelfAgreement", rule="X1", doc="a fund federates with another fund, not itself"
)
BadOptions: Final = errors.define(
    2,
    "BadOptions",
    rule="X1",
    doc="options are a non-empty set of trust (1), reviewers (2), losses (4)",
)
FundNotActive: Final = errors.define(
    3, "FundNotActive", rule="X1", doc="only active funds federate"
)
AlreadyFederated: Final = errors.define(
    4, "AlreadyFederated", rule="X1", doc="the two funds already agree on exactly these options"
)
TooManyPartners: Final = errors.define(
    5, "TooManyPartners", rule="X1", doc="a fund has at most 8 agreements (bounded work)"
)
NotFederated: Final = errors.define(
    6,
    "NotFederated",
    rule="X1",
    doc="there is no agreement or pending consent with that fund to end",
)
BadSplit: Final = errors.define(
    7,
    "BadSplit",
    rule="X2",
    doc="a split links open requests of one submitter, same borrowers, purpose and recipient",
)
NotFederatedSplit: Final = errors.define(
    8,
    "NotFederatedSplit",
    rule="X2",
    doc="every two funds of a split credit must have an agreement in force",
)
AlreadySplit: Final = errors.define(
    9, "AlreadySplit", rule="X2", doc="a request is part of at most one split credit"
)
