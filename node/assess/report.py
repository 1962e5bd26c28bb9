"""What the fitter writes: the coefficients, the proposal files, the HTML report.

* ``coefficients.json``: the integer coefficients (micro-units) by name, the
  regularization chosen and the held-out metrics;
* ``network-call.json``: the arguments of ``assess.set_network_model``, for
  ``credichain gov propose call SIGNER assess set_network_model "$(cat FILE)"``;
* ``fund-call.json``: the arguments of ``assess.propose_fund_model`` (fund,
  coefficients, min_score, reason_hash), for ``credichain assess propose-fund``;
* ``report.html``: one page a person can read: the metrics of the fitted
  model on the later loans beside the current coefficients' (ROC AUC, Brier,
  expected calibration error), a calibration plot (SVG) and the reliability
  table, the same metrics by purpose and by fund, approval and default rates
  by purpose and by co-borrower count, and the coefficients.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from ledger.crypto import blake2b256
from node.assess.fit import FitResult, Metrics, reliability
from node.assess.history import History
from pallets.assess.model import COEF_SCALE, NAMES

FILES: Final = ("coefficients.json", "network-call.json", "fund-call.json", "report.html")


def write_outputs(history: History, result: FitResult, out: Path, *, fund: int = 0) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    named = dict(zip(("intercept", *NAMES), result.coefficients, strict=True))
    summary = {
        "unit": f"1/{COEF_SCALE} of log-odds per unit of each feature (pallets/assess/model.py)",
        "coefficients": result.coefficients,
        "by_name": named,
        "c": result.c,
        "train_loans": result.train,
        "held_out_loans": result.test,
        "held_out": {k: asdict(v) for k, v in result.overall.items()},
    }
    paths = [out / name for name in FILES]
    paths[0].write_text(json.dumps(summary, indent=1) + "\n")
    paths[1].write_text(json.dumps({"coefficients": result.coefficients}) + "\n")
    reason = "0x" + blake2b256(paths[0].read_bytes()).hex()
    fund_call = {
        "fund": fund,
        "coefficients": result.coefficients,
        "min_score": 0,
        "reason_hash": reason,
    }
    paths[2].write_text(json.dumps(fund_call) + "\n")
    paths[3].write_text(render(history, result))
    return paths


# ---------------------------------------------------------------- HTML


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _metric_rows(name: str, pair: dict[str, Metrics]) -> list[list[str]]:
    rows = []
    for model in ("fitted", "current"):
        m = pair[model]
        rows.append(
            [
                name,
                model,
                str(m.n),
                str(m.defaults),
                _num(m.auc),
                _num(m.brier),
                _num(m.ece),
                _num(m.mean_predicted),
                _num(m.observed),
            ]
        )
    return rows


METRIC_HEAD: Final = (
    "group",
    "model",
    "loans",
    "written off",
    "ROC AUC",
    "Brier",
    "calibration error",
    "mean predicted",
    "repaid",
)


def _svg(result: FitResult) -> str:
    """A reliability diagram: observed repayment rate against mean predicted, per bin."""
    size, pad = 320, 40
    outcomes = [r.repaid for r in result.held_out]

    def point(p: float, o: float) -> tuple[float, float]:
        return pad + p * (size - 2 * pad), size - pad - o * (size - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        'role="img" aria-label="calibration plot">',
        f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" '
        'fill="none" stroke="#999"/>',
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ccc" stroke-dasharray="4"/>'.format(
            *point(0, 0), *point(1, 1)
        ),
        f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle" font-size="11">'
        "predicted probability of repayment</text>",
        f'<text x="12" y="{size / 2}" font-size="11" transform="rotate(-90 12 {size / 2})" '
        'text-anchor="middle">observed repayment rate</text>',
    ]
    for predicted, colour in (
        (result.held_out_fitted, "#1b7837"),
        (result.held_out_current, "#b2182b"),
    ):
        coords = [
            point(row["predicted"], row["observed"])
            for row in reliability(outcomes, predicted)
            if row["n"]
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in coords]
    parts.append(
        f'<text x="{pad + 6}" y="{pad + 14}" font-size="11" fill="#1b7837">fitted</text>'
        f'<text x="{pad + 6}" y="{pad + 28}" font-size="11" fill="#b2182b">current</text></svg>'
    )
    return "".join(parts)


def _rates(history: History) -> tuple[list[list[str]], list[list[str]]]:
    """Approval and default rates by purpose and by co-borrower count."""
    outcome = {row.loan: row.repaid for row in history.loans}

    def rows(key: Any) -> list[list[str]]:
        groups: dict[Any, list[Any]] = {}
        for request in history.requests:
            groups.setdefault(key(request), []).append(request)
        table = []
        for name, members in sorted(groups.items()):
            decided = [r for r in members if r.status in ("approved", "declined")]
            approved = [r for r in members if r.status == "approved"]
            finished = [outcome[r.request] for r in approved if r.request in outcome]
            table.append(
                [
                    str(name),
                    str(len(members)),
                    _num(len(approved) / len(decided) if decided else None, 2),
                    str(len(finished)),
                    _num(1 - sum(finished) / len(finished) if finished else None, 2),
                ]
            )
        return table

    return rows(lambda r: r.purpose), rows(lambda r: r.co_borrowers)


def render(history: History, result: FitResult) -> str:
    outcomes = [r.repaid for r in result.held_out]
    reliability_rows = []
    for fitted, current in zip(
        reliability(outcomes, result.held_out_fitted),
        reliability(outcomes, result.held_out_current),
        strict=True,
    ):
        reliability_rows.append(
            [
                f"{fitted['low']:.1f}-{fitted['high']:.1f}",
                str(fitted["n"]),
                _num(fitted["predicted"]),
                _num(fitted["observed"]),
                str(current["n"]),
                _num(current["predicted"]),
                _num(current["observed"]),
            ]
        )
    overall = _metric_rows("all later loans", result.overall)
    purposes = [row for name, pair in result.by_purpose.items() for row in _metric_rows(name, pair)]
    funds = [
        row for name, pair in result.by_fund.items() for row in _metric_rows(f"fund {name}", pair)
    ]
    by_purpose, by_count = _rates(history)
    rate_head = ("group", "requests", "approved (of decided)", "finished loans", "written off")
    coefficients = [
        [name, str(value), f"{value / COEF_SCALE:+.4f}"]
        for name, value in zip(("intercept", *NAMES), result.coefficients, strict=True)
    ]
    cv = [[str(c), _num(loss, 4)] for c, loss in sorted(result.cv_log_loss.items())]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>credichain assessment report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;
text-align:right}}th{{background:#eee}}td:first-child{{text-align:left}}</style></head><body>
<h1>Credit assessment: fitted model against the current coefficients</h1>
<p>Chain {html.escape(history.genesis or "(in process)")} at height {history.height}:
{len(history.loans)} finished loans (repaid or written off). The model was fitted on the
earliest {result.train} and is checked here on the {result.test} later ones (a time split:
it never saw them). The score informs reviewers; it never replaces them (C5).</p>
<h2>Held-out metrics</h2>
<p>ROC AUC: how well the model orders repaid above written-off loans (0.5 is chance).
Brier: mean squared error of the probability (lower is better). Calibration error: the
count-weighted mean gap between predicted and observed repayment over ten bins.</p>
{_table(METRIC_HEAD, overall)}
<h2>Calibration</h2>
{_svg(result)}
{
        _table(
            (
                "predicted",
                "fitted: loans",
                "mean predicted",
                "repaid",
                "current: loans",
                "mean predicted",
                "repaid",
            ),
            reliability_rows,
        )
    }
<h2>By purpose</h2>
{_table(METRIC_HEAD, purposes)}
<h2>By fund</h2>
{_table(METRIC_HEAD, funds)}
<h2>Approval and default rates</h2>
<p>Every request of the history by purpose and by number of co-borrowers: a model that
works for some only, or a community that lends to some only, shows here.</p>
{_table(rate_head, by_purpose)}
{_table(rate_head, by_count)}
<h2>Coefficients</h2>
<p>Per unit of each feature (pallets/assess/model.py), in micro-units as installed;
regularization C = {result.c} chosen by time-series cross-validation (mean log-loss):</p>
{_table(("C", "log-loss"), cv)}
{_table(("feature", "installed", "log-odds per unit"), coefficients)}
</body></html>
"""
