"""Assessment errors; each cites the rule of spec/credit-rules.md it enforces."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("assess")

BadCoefficients: Final = errors.define(
    0,
    "BadCoefficients",
    rule="C5",
    doc="a model is one integer coefficient per feature plus the intercept, each within range",
)
BelowMinimumScore: Final = errors.define(
    1,
    "BelowMinimumScore",
    rule="C5",
    doc="the request's score is under the minimum its fund set (C5: a fund's minimum)",
)
