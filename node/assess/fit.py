"""The fitter: a regularized logistic regression of repayment on the C5 features.

Theory of operation
-------------------
Input: a ``History`` (node/assess/history.py): finished loans with the
features the chain stored when it scored them and their outcome (repaid 1,
written off 0), in the order they were disbursed.

1. **Time split.** The loans are sorted by disbursement time; the first
   ``train_share`` (70%) are the past, the rest the later loans held out.
2. **Regularization by time.** On the past, scikit-learn's
   ``TimeSeriesSplit`` (train on earlier folds, validate on the next) picks
   the L2 strength ``C`` from ``C_GRID`` by mean log-loss.
3. **Held-out check.** The model fitted on the past is scored on the later
   loans beside the *current* coefficients (the model in force on the chain
   now, through the same integer arithmetic as the chain, ``model.py``):
   ROC AUC, Brier score, expected calibration error (10 equal-width bins of
   predicted probability, weighted by count) and the reliability table, in
   total, by purpose and by fund.
4. **The coefficients.** Refitted on every loan with the chosen ``C``, then
   rounded to micro-units (what a proposal installs): ``coefficients``. Their
   integer on-chain probability is within ``SIGMOID_ERROR_PPM +
   ROUNDING_PPM`` of this module's floating-point one (``probability``), a
   bound the tests check on every loan.

The features enter as ``value / unit`` (model.FEATURES), so the fitted
coefficients are per unit, as the chain reads them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import TimeSeriesSplit

from node.assess.history import History, LoanRow
from pallets.assess.model import (
    COEF_MAX,
    COEF_SCALE,
    FEATURES,
    Z_MAX,
    probability_ppm,
)

C_GRID: Final = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BINS: Final = 10
MIN_LOANS: Final = 40


class FitError(ValueError):
    """The history cannot be fitted (too few loans, one outcome only); names why."""


def scaled(features: Sequence[int]) -> list[float]:
    return [value / f.unit for value, f in zip(features, FEATURES, strict=True)]


def z_float(coefficients: Sequence[float], features: Sequence[int]) -> float:
    """The exact log-odds of real coefficients (per unit), clamped as on chain."""
    xs = scaled(features)
    z = coefficients[0] + sum(c * x for c, x in zip(coefficients[1:], xs, strict=True))
    bound = Z_MAX / COEF_SCALE
    return min(max(z, -bound), bound)


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def probability(coefficients: Sequence[float], features: Sequence[int]) -> float:
    return sigmoid(z_float(coefficients, features))


def to_micro(coefficients: Sequence[float]) -> list[int]:
    """Real coefficients as the integers a proposal installs (micro-units, within range)."""
    return [max(-COEF_MAX, min(COEF_MAX, round(c * COEF_SCALE))) for c in coefficients]


def from_micro(coefficients: Sequence[int]) -> list[float]:
    return [c / COEF_SCALE for c in coefficients]


def chain_probability(coefficients: Sequence[int], features: Sequence[int]) -> float:
    """What the chain computes (integers), as a probability."""
    return probability_ppm(coefficients, features) / 1_000_000


# ---------------------------------------------------------------- metrics


@dataclass(frozen=True, slots=True)
class Metrics:
    n: int
    defaults: int
    auc: float | None  # None when only one outcome is present
    brier: float
    ece: float
    mean_predicted: float
    observed: float


def metrics(outcomes: Sequence[int], predicted: Sequence[float]) -> Metrics:
    y = np.asarray(outcomes)
    p = np.asarray(predicted)
    auc = float(roc_auc_score(y, p)) if len(set(outcomes)) == 2 else None
    return Metrics(
        len(y),
        int((y == 0).sum()),
        auc,
        float(brier_score_loss(y, p)),
        calibration_error(outcomes, predicted),
        float(p.mean()),
        float(y.mean()),
    )


def reliability(outcomes: Sequence[int], predicted: Sequence[float]) -> list[dict[str, Any]]:
    """Per bin of predicted probability: range, count, mean predicted, observed rate."""
    rows = []
    for b in range(BINS):
        low, high = b / BINS, (b + 1) / BINS
        inside = [
            (y, p)
            for y, p in zip(outcomes, predicted, strict=True)
            if low <= p < high or (b == BINS - 1 and p == 1.0)
        ]
        rows.append(
            {
                "low": low,
                "high": high,
                "n": len(inside),
                "predicted": sum(p for _, p in inside) / len(inside) if inside else None,
                "observed": sum(y for y, _ in inside) / len(inside) if inside else None,
            }
        )
    return rows


def calibration_error(outcomes: Sequence[int], predicted: Sequence[float]) -> float:
    """Expected calibration error: sum over bins of n_bin / n * |mean p - observed|."""
    total = len(outcomes)
    return sum(
        float(row["n"]) / total * abs(float(row["predicted"]) - float(row["observed"]))
        for row in reliability(outcomes, predicted)
        if row["n"]
    )


# ---------------------------------------------------------------- the fit


@dataclass(slots=True)
class FitResult:
    coefficients: list[int]  # micro-units, fitted on every loan
    c: float  # the L2 strength chosen by time-series cross-validation
    cv_log_loss: dict[float, float]
    train: int
    test: int
    held_out_fitted: list[float]  # the past-only model's predictions on the later loans
    held_out_current: list[float]  # the current coefficients' (integer, as on chain)
    held_out: list[LoanRow]
    overall: dict[str, Metrics] = field(default_factory=dict)  # "fitted", "current"
    by_purpose: dict[str, dict[str, Metrics]] = field(default_factory=dict)
    by_fund: dict[str, dict[str, Metrics]] = field(default_factory=dict)


def _matrix(rows: Sequence[LoanRow]) -> Any:
    return np.asarray([scaled(r.features) for r in rows], dtype=float)


def _fit(rows: Sequence[LoanRow], c: float) -> list[float]:
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(_matrix(rows), np.asarray([r.repaid for r in rows]))
    return [float(model.intercept_[0]), *(float(v) for v in model.coef_[0])]


def current_coefficients(history: History, row: LoanRow) -> list[int]:
    """The coefficients in force now for the loan's fund: its own, else the network's."""
    return history.funds.get(row.fund, history.network)


def fit(history: History, *, train_share: float = 0.7, folds: int = 4) -> FitResult:
    rows = sorted(history.loans, key=lambda r: (r.start, r.loan))
    if len(rows) < MIN_LOANS:
        raise FitError(f"{len(rows)} finished loans; the fitter needs at least {MIN_LOANS}")
    if len({r.repaid for r in rows}) < 2:
        raise FitError("every finished loan has the same outcome: nothing to learn")
    cut = int(len(rows) * train_share)
    past, later = rows[:cut], rows[cut:]
    if len({r.repaid for r in past}) < 2 or not later:
        raise FitError("the earlier loans have one outcome only, or there are no later loans")
    losses: dict[float, float] = {}
    x, y = _matrix(past), np.asarray([r.repaid for r in past])
    for c in C_GRID:
        scores = []
        for train_index, test_index in TimeSeriesSplit(n_splits=folds).split(x):
            if len(set(y[train_index])) < 2:
                continue
            model = LogisticRegression(C=c, max_iter=5000).fit(x[train_index], y[train_index])
            predicted = model.predict_proba(x[test_index])[:, 1]
            scores.append(log_loss(y[test_index], predicted, labels=[0, 1]))
        losses[c] = float(np.mean(scores)) if scores else math.inf
    chosen = min(C_GRID, key=lambda c: (losses[c], c))
    past_model = _fit(past, chosen)
    fitted = [probability(past_model, r.features) for r in later]
    current = [chain_probability(current_coefficients(history, r), r.features) for r in later]
    result = FitResult(
        to_micro(_fit(rows, chosen)),
        chosen,
        losses,
        len(past),
        len(later),
        fitted,
        current,
        later,
    )
    outcomes = [r.repaid for r in later]
    result.overall = {"fitted": metrics(outcomes, fitted), "current": metrics(outcomes, current)}
    result.by_purpose = _grouped(later, fitted, current, lambda r: r.purpose)
    result.by_fund = _grouped(later, fitted, current, lambda r: str(r.fund))
    return result


def _grouped(
    rows: Sequence[LoanRow], fitted: Sequence[float], current: Sequence[float], key: Any
) -> dict[str, dict[str, Metrics]]:
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(key(row), []).append(index)
    return {
        name: {
            "fitted": metrics([rows[i].repaid for i in idx], [fitted[i] for i in idx]),
            "current": metrics([rows[i].repaid for i in idx], [current[i] for i in idx]),
        }
        for name, idx in sorted(groups.items())
    }
