"""Assessment storage (C5): installed models, fund minimums, what each request was scored with.

Keys:

* ``assess/network_version``: the network model in force (0: the default model,
  the earlier weights ``credit.score_weight_*``; n > 0: ``network/<n>``);
* ``assess/network/<version u32>``: the coefficients governance installed (G4),
  kept forever, since requests made under a version keep it;
* ``assess/fund_version/<fund u32>``: the fund's own model in force (0: none,
  the fund follows the network model); ``assess/fund/<fund u32><version u32>``
  its coefficients, installed by the fund's consent (F8);
* ``assess/min_score/<fund u32>``: the fund's minimum score (C5), 0 = none;
* ``assess/pending/<proposal u64>``: the model and minimum a fund's consent
  proposal would install when it passes;
* ``assess/scored/<request u64>``: the model a request was made under (pinned
  at submission), and the features, probability and score of its latest
  scoring: the public record the fitter learns from.
"""

from __future__ import annotations

from typing import Final

from pallets.assess.model import COEF_MAX, FEATURES, N_COEFFICIENTS
from pallets.support.argtypes import U8, U32, U64, Int, List, Optional
from pallets.support.records import RecordType
from pallets.support.storage import U32_KEY, U64_KEY, FixedKey, StorageSet

COEFFICIENT: Final = Int("coefficient", -COEF_MAX, COEF_MAX)
COEFFICIENTS: Final = List(COEFFICIENT, N_COEFFICIENTS, min_len=N_COEFFICIENTS)
# a fund's proposal may leave the coefficients empty: it then sets only its minimum
FUND_COEFFICIENTS: Final = List(COEFFICIENT, N_COEFFICIENTS)
FEATURE_VALUES: Final = List(U32, len(FEATURES))
PPM_TYPE: Final = Int("ppm", 0, 1_000_000)

MODEL: Final = RecordType(
    "score_model",
    (
        ("coefficients", COEFFICIENTS),
        ("enacted_height", U64),  # the block it was installed in
        ("enacted_time", U64),
    ),
)
PENDING: Final = RecordType(
    "pending_score_model",
    (("fund", U32), ("coefficients", FUND_COEFFICIENTS), ("min_score", U8)),
)
SCORED: Final = RecordType(
    "scored",
    (
        ("fund", U32),
        ("fund_version", U32),  # 0: the network model below
        ("network_version", U32),  # 0: the default model (credit.score_weight_*)
        ("features", FEATURE_VALUES),  # empty until the request is first scored
        ("ppm", PPM_TYPE),  # probability of repayment, parts per million
        ("score", U8),
        ("height", U64),  # the block of the latest scoring
    ),
)

storage = StorageSet("assess")

NETWORK_VERSION: Final = storage.value(
    "network_version", U32, default=0, doc="the network model in force (0: the default) (C5)"
)
NETWORK_MODELS: Final = storage.map(
    "network",
    U32_KEY,
    Optional(MODEL.record),
    default=None,
    doc="network models installed by governance, by version (C5, G4)",
)
FUND_VERSION: Final = storage.map(
    "fund_version", U32_KEY, U32, default=0, doc="each fund's own model in force (0: none) (C5)"
)
FUND_MODELS: Final = storage.map(
    "fund",
    FixedKey("fund_version", 4 + 4),
    Optional(MODEL.record),
    default=None,
    doc="fund models installed by the fund's consent, by fund and version (C5, F8)",
)
MIN_SCORE: Final = storage.map(
    "min_score", U32_KEY, U8, default=0, doc="a fund's minimum score, 0 for none (C5, F8)"
)
PENDING_MODELS: Final = storage.map(
    "pending",
    U64_KEY,
    Optional(PENDING.record),
    default=None,
    doc="the model and minimum of an open fund consent proposal (F8)",
)
SCORED_REQUESTS: Final = storage.map(
    "scored",
    U64_KEY,
    Optional(SCORED.record),
    default=None,
    doc="the model each request was made under and its latest features and score (C5)",
)
