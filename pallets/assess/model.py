"""The assessment model of C5: a fixed-point logistic score over a fixed feature list.

Theory of operation
-------------------
A request's **features** are integers computed on chain from in-network facts
only (``FEATURES``: each with its integer scaling, its *unit*, and its cap).
No personal data is a feature: the list below is the whole input, and
``pallets/credit/score.py`` computes exactly these from accounts, counts,
amounts and parameters; a test checks that the two agree name by name.

A **model** is ``1 + len(FEATURES)`` integer coefficients in micro-units
(``COEF_SCALE`` = 10**6): the intercept, then one per feature, each per
*unit* of its feature (a feature of unit 10 000 with coefficient 2 000 000
adds 2.0 to the log-odds at 10 000, 0.2 at 1 000). The log-odds, in
micro-units, is

    z = c[0] + sum(c[i + 1] * x[i] // unit[i])        (Python's floor division)

clamped to ``[-Z_MAX, Z_MAX]`` (12.0). The probability of repayment, in parts
per million, is the logistic function of z, approximated with integers only
(``sigmoid_ppm``): a table of ``round(10**6 / (1 + exp(-k / 16)))`` for k =
0 ... 192 (z from 0 to 12 in steps of 1/16), linear interpolation between two
entries (floor), and ``10**6 - p(-z)`` for negative z. Error bound
(``SIGMOID_ERROR_PPM`` = 50 ppm against the exact logistic over the whole
input range, checked by tests/pallets/test_assess.py against ``math.exp``):
interpolation error at most h**2/8 * max|sigma''| = (1/16)**2 / 8 * 0.0962 =
47 ppm, rounding of the table 0.5 ppm, the floor 1 ppm; beyond |z| = 12 the
clamp costs at most 1 - sigma(12) = 6.1 ppm. The score of C5 is the
probability in whole percent, rounded half up: ``(ppm * 100 + 500 000) //
10**6``, 0-100.

The **default model** (no coefficients installed) reproduces the four hand-set
weights of the earlier score (``credit.score_weight_*``, 40/30/20/10 by
default) on the same four components: coefficient of component j =
``LEGACY_K * weight_j / 10 000``, intercept ``-LEGACY_K / 2``, so the
log-odds is ``5.45 * (S - 50) / 100`` where S is the earlier 0-100 weighted
score. The default score is therefore a strictly increasing function of the
earlier score (it ranks every request the same way) and stays within 4.9
points of it over every achievable combination (S from 30 to 98); the test
states the bound (5 points) and checks every combination.

The fitter (node/assess/logit.py) computes the same model in floating point;
the on-chain integer probability is within ``SIGMOID_ERROR_PPM +
ROUNDING_PPM`` of the exact logistic for the same integer coefficients
(``ROUNDING_PPM`` covers the floor of each term: at most 1 micro-unit of z
per feature, and d sigma / dz <= 1/4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

COEF_SCALE: Final = 1_000_000  # coefficients and log-odds in micro-units
PPM: Final = 1_000_000  # probabilities in parts per million
Z_MAX: Final = 12 * COEF_SCALE
COEF_MAX: Final = 1_000 * COEF_SCALE  # |coefficient| <= 1000.0 per unit of its feature
STEPS_PER_UNIT: Final = 16  # table step 1/16 of log-odds


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    unit: int  # the integer value that counts as 1.0 for its coefficient
    cap: int  # the largest value (values are clamped to [0, cap])
    doc: str


PURPOSE_ORDER: Final = (
    "community_infrastructure",
    "ecological_restoration",
    "productive_enterprise",
    "educational_initiative",
    "creative_project",
)

FEATURES: Final[tuple[Feature, ...]] = (
    # the four components of the earlier score (0-100 each), kept for the default model
    Feature("purpose_weight", 100, 100,
            "credit.weight_<purpose> of the request's purpose (the technical guide's table)"),
    Feature("history_points", 100, 100,
            "mean over borrowers of 100 * repaid / (repaid + written off); 50 with no history"),
    Feature("endorsement_points", 100, 100, "20 per endorsing funder, at most 100"),
    Feature("provider_points", 100, 100,
            "50 per provider named in the request who is a funder of the fund, at most 100"),
    # the purpose itself, one indicator each
    *(Feature(f"purpose_{p}", 1, 1, f"1 when the purpose is {p}") for p in PURPOSE_ORDER),
    # the borrowers' repayment history (loans/history of every borrower)
    Feature("credits_repaid", 10, 50, "credits the borrowers repaid in full, summed, at most 50"),
    Feature("credits_written_off", 1, 50,
            "credits of the borrowers written off, summed, at most 50"),
    Feature("new_borrowers", 1, 8, "borrowers with no repaid or written-off credit"),
    # the amount, against the fund and against the borrowers' trust
    Feature("amount_to_size_bps", 10_000, 10_000,
            "amount * 10 000 // fund size (F3) when the score is computed"),
    Feature("amount_to_trust_bps", 10_000, 10_000,
            "amount * 10 000 // what the borrowers can bring together (T5, C3)"),
    # the terms
    Feature("term_days", 365, 3650, "term in whole days (86 400 s), at most 10 years"),
    Feature("installments", 12, 120, "number of installments (L2)"),
    # the community around the request
    Feature("endorsements", 1, 32, "funders endorsing the request (C5)"),
    Feature("providers", 1, 8, "providers named in the request"),
    Feature("co_borrowers", 1, 7, "borrowers besides the submitter (C2)"),
    # the fund
    Feature("fund_par30_bps", 10_000, 10_000,
            "the fund's PAR30 (L7) over its oldest PAR_SCAN open loans, in bps"),
)  # fmt: skip

NAMES: Final = tuple(f.name for f in FEATURES)
N_COEFFICIENTS: Final = 1 + len(FEATURES)
LEGACY_PARTS: Final = ("purpose", "history", "endorsements", "providers")
LEGACY_K: Final = 5_450_000  # log-odds per 100 points of the earlier score, micro-units
PAR_SCAN: Final = 32  # open loans read for the fund's PAR30 (bounded work per request)

# round(10**6 / (1 + exp(-k / 16))) for k = 0 ... 192; checked against math.exp by the tests
SIGMOID_TABLE: Final = (
    500_000, 515_620, 531_209, 546_738, 562_177, 577_495, 592_667, 607_663, 622_459,
    637_031, 651_355, 665_411, 679_179, 692_642, 705_785, 718_594, 731_059, 743_168,
    754_915, 766_294, 777_300, 787_931, 798_187, 808_067, 817_574, 826_712, 835_484,
    843_895, 851_953, 859_664, 867_036, 874_077, 880_797, 887_205, 893_309, 899_121,
    904_651, 909_907, 914_901, 919_643, 924_142, 928_409, 932_453, 936_285, 939_913,
    943_348, 946_597, 949_669, 952_574, 955_319, 957_912, 960_361, 962_673, 964_855,
    966_914, 968_856, 970_688, 972_415, 974_043, 975_577, 977_023, 978_385, 979_668,
    980_876, 982_014, 983_085, 984_094, 985_043, 985_936, 986_777, 987_568, 988_313,
    989_013, 989_672, 990_292, 990_874, 991_423, 991_938, 992_423, 992_879, 993_307,
    993_710, 994_089, 994_445, 994_780, 995_095, 995_390, 995_668, 995_930, 996_176,
    996_406, 996_623, 996_827, 997_019, 997_199, 997_368, 997_527, 997_677, 997_817,
    997_949, 998_073, 998_190, 998_299, 998_402, 998_499, 998_590, 998_675, 998_755,
    998_830, 998_901, 998_968, 999_030, 999_089, 999_144, 999_196, 999_245, 999_290,
    999_333, 999_374, 999_412, 999_447, 999_481, 999_512, 999_542, 999_569, 999_596,
    999_620, 999_643, 999_665, 999_685, 999_704, 999_722, 999_739, 999_755, 999_769,
    999_783, 999_797, 999_809, 999_820, 999_831, 999_842, 999_851, 999_860, 999_869,
    999_877, 999_884, 999_891, 999_898, 999_904, 999_910, 999_915, 999_920, 999_925,
    999_930, 999_934, 999_938, 999_942, 999_945, 999_949, 999_952, 999_955, 999_957,
    999_960, 999_962, 999_965, 999_967, 999_969, 999_971, 999_972, 999_974, 999_976,
    999_977, 999_979, 999_980, 999_981, 999_982, 999_983, 999_984, 999_985, 999_986,
    999_987, 999_988, 999_989, 999_989, 999_990, 999_990, 999_991, 999_992, 999_992,
    999_993, 999_993, 999_993, 999_994,
)  # fmt: skip
SIGMOID_ERROR_PPM: Final = 50  # |sigmoid_ppm(z) - 10**6 * sigma(z / 10**6)| over every z
ROUNDING_PPM: Final = (len(FEATURES) + 3) // 4 + 1  # the floors of z, through d sigma/dz <= 1/4


def check_coefficients(coefficients: Sequence[int]) -> str | None:
    """Why ``coefficients`` cannot be a model (count, range), or None."""
    if len(coefficients) != N_COEFFICIENTS:
        return (
            f"a model has {N_COEFFICIENTS} coefficients (the intercept, then "
            f"{', '.join(NAMES)}), got {len(coefficients)}"
        )
    for index, value in enumerate(coefficients):
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > COEF_MAX:
            name = "intercept" if index == 0 else NAMES[index - 1]
            return f"coefficient {index} ({name}) must be an integer within +-{COEF_MAX}"
    return None


def clamp_features(values: Mapping[str, int]) -> list[int]:
    """The feature vector in ``FEATURES`` order, each clamped to [0, cap]."""
    return [min(max(values[f.name], 0), f.cap) for f in FEATURES]


def legacy_coefficients(weights_bps: Mapping[str, int]) -> list[int]:
    """The default model: the earlier weights (``credit.score_weight_*``) as coefficients."""
    coefficients = [0] * N_COEFFICIENTS
    coefficients[0] = -LEGACY_K // 2
    for part, name in zip(LEGACY_PARTS, NAMES[:4], strict=True):
        coefficients[1 + NAMES.index(name)] = LEGACY_K * weights_bps[part] // 10_000
    return coefficients


def z_micro(coefficients: Sequence[int], features: Sequence[int]) -> int:
    """The log-odds in micro-units, clamped to [-Z_MAX, Z_MAX]: integers only."""
    total = coefficients[0]
    for coefficient, value, feature in zip(coefficients[1:], features, FEATURES, strict=True):
        total += coefficient * value // feature.unit
    return min(max(total, -Z_MAX), Z_MAX)


def sigmoid_ppm(z: int) -> int:
    """10**6 / (1 + exp(-z / 10**6)), within SIGMOID_ERROR_PPM: integers only."""
    magnitude = min(abs(z), Z_MAX)
    scaled = magnitude * STEPS_PER_UNIT
    index, fraction = divmod(scaled, COEF_SCALE)
    if index >= len(SIGMOID_TABLE) - 1:
        value = SIGMOID_TABLE[-1]
    else:
        low, high = SIGMOID_TABLE[index], SIGMOID_TABLE[index + 1]
        value = low + (high - low) * fraction // COEF_SCALE
    return value if z >= 0 else PPM - value


def probability_ppm(coefficients: Sequence[int], features: Sequence[int]) -> int:
    return sigmoid_ppm(z_micro(coefficients, features))


def score_of(ppm: int) -> int:
    """C5's 0-100 score: the probability of repayment in whole percent, rounded half up."""
    return (ppm * 100 + PPM // 2) // PPM
