"""The assessment fitter on a simulated community chain (node/assess, C5).

One simulated chain per module (node/assess/simulate.py: 4 funds, 80 borrowers,
30 waves of up to 6 requests per fund, seed 24: about 300 finished loans, ~9 s),
built through the real runtime; its latent repayment behaviour depends on the
features. A second, shorter one installs coefficients by governance half-way
and is replayed block by block.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from node.assess.fit import FitResult, chain_probability, fit, from_micro, probability
from node.assess.history import History, read_export, read_history
from node.assess.simulate import SimConfig, Simulated, simulate
from node.audit.replay import BlockRecord, Replayer
from node.cli.assess import assess_app
from pallets.assess import api as assess_api
from pallets.assess.model import ROUNDING_PPM, SIGMOID_ERROR_PPM, legacy_coefficients
from pallets.assess.storage import MODEL, NETWORK_MODELS
from pallets.credit.storage import NEXT_REQUEST, REQUEST, REQUESTS
from pallets.support.params import SCORE_PARTS, param

CONFIG = SimConfig(seed=24, funds=4, borrowers=80, waves=30, requests_per_wave=6)
# The fitted model's held-out ROC AUC must beat the default coefficients' by this
# much, and its expected calibration error (10 bins) stay under this bound, on the
# later 30% of the loans (measured with seed 24: AUC 0.704 against 0.449, ECE 0.053).
AUC_MARGIN = 0.10
ECE_BOUND = 0.15
# on-chain integer probability against the fitter's floating point, same coefficients
INTEGER_ERROR = (SIGMOID_ERROR_PPM + ROUNDING_PPM) / 1_000_000


@pytest.fixture(scope="module")
def simulated() -> Simulated:
    return simulate(CONFIG)


@pytest.fixture(scope="module")
def history(simulated: Simulated) -> History:
    return read_history(simulated.state().get)


@pytest.fixture(scope="module")
def fitted(history: History) -> FitResult:
    return fit(history)


def test_the_simulation_yields_hundreds_of_loans_with_both_outcomes(
    simulated: Simulated, history: History
) -> None:
    assert len(history.loans) == len(simulated.loans) >= 250
    defaults = sum(1 - row.repaid for row in history.loans)
    assert 0.1 * len(history.loans) < defaults < 0.5 * len(history.loans)
    # every outcome is what the latent behaviour drew: repaid loans had, on average,
    # a higher latent probability than written-off ones
    truth = simulated.truth
    repaid = [truth[r.loan] for r in history.loans if r.repaid]
    lost = [truth[r.loan] for r in history.loans if not r.repaid]
    assert sum(repaid) / len(repaid) > sum(lost) / len(lost) + 0.1


def test_the_fitted_model_beats_the_default_on_later_loans_and_is_calibrated(
    fitted: FitResult,
) -> None:
    held_out, default = fitted.overall["fitted"], fitted.overall["current"]
    assert fitted.test >= 75 and fitted.train > fitted.test
    assert held_out.auc is not None and default.auc is not None
    assert held_out.auc >= default.auc + AUC_MARGIN, (held_out, default)
    assert held_out.ece <= ECE_BOUND, held_out
    assert held_out.brier < default.brier
    # the later loans really are later: the split is by time
    assert max(r.start for r in fitted.held_out) >= min(r.start for r in fitted.held_out)
    # by purpose and by fund, every group of the later loans is reported for both models
    assert set(fitted.by_purpose) == {r.purpose for r in fitted.held_out}
    assert set(fitted.by_fund) == {str(r.fund) for r in fitted.held_out}


def test_the_chain_integer_score_equals_the_fitters_float_within_the_bound(
    simulated: Simulated, history: History, fitted: FitResult
) -> None:
    state = simulated.state()
    weights = {p: param(state, "credit", f"score_weight_{p}") for p in SCORE_PARTS}
    default = legacy_coefficients(weights)
    worst = 0.0
    for row in history.loans:
        # what the chain stored when it scored the loan, against the float model
        assert row.network_version == 0
        stored = row.ppm / 1_000_000
        assert abs(stored - probability(from_micro(default), row.features)) <= INTEGER_ERROR
        assert row.score == (row.ppm * 100 + 500_000) // 1_000_000
        # the fitted coefficients, as the chain would compute them, against the float model
        on_chain = chain_probability(fitted.coefficients, row.features)
        exact = probability(from_micro(fitted.coefficients), row.features)
        worst = max(worst, abs(on_chain - exact))
    assert worst <= INTEGER_ERROR, worst


def test_coefficients_installed_half_way_score_only_later_requests_and_the_chain_replays(
    fitted: FitResult,
) -> None:
    config = SimConfig(
        seed=7, funds=2, borrowers=24, waves=6, requests_per_wave=3,
        coefficients=tuple(fitted.coefficients), install_wave=3,
    )  # fmt: skip
    run = simulate(config)
    state = run.state()
    model = NETWORK_MODELS.get(state, 1)
    assert model is not None and run.install_height is not None
    enacted = MODEL.unwire(model)
    assert enacted["coefficients"] == fitted.coefficients
    weights = {p: param(state, "credit", f"score_weight_{p}") for p in SCORE_PARTS}
    versions = []
    for request_id in range(NEXT_REQUEST.get(state)):
        request = REQUEST.unwire(REQUESTS.get(state, request_id))
        scored = assess_api.scored(state, request_id)
        assert scored is not None
        after = request["created"] > enacted["enacted_time"]
        assert scored["network_version"] == int(after)
        used = fitted.coefficients if after else legacy_coefficients(weights)
        assert scored["ppm"] == chain_probability(used, scored["features"]) * 1_000_000
        versions.append(scored["network_version"])
    assert 0 in versions and 1 in versions
    records = [
        BlockRecord(b.block.header.height, b.block, b.commit, b.receipts, b.events)
        for b in run.builder.built
    ]
    report = Replayer(run.builder.genesis, threads=1).run(records)
    assert report.state_root == run.builder.chain.state_root
    assert report.blocks == run.builder.chain.height


# ---------------------------------------------------------------- the command


def _cli(*args: str | Path) -> object:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.add_typer(assess_app, name="assess")
    return CliRunner().invoke(app, ["assess", *(str(a) for a in args)])


def test_simulate_then_fit_write_the_export_coefficients_proposals_and_report(
    tmp_path: Path,
) -> None:
    export = tmp_path / "history.json"
    result = _cli("simulate", "--out", export, "--waves", "12", "--funds", "2", "--seed", "5")
    assert getattr(result, "exit_code", None) == 0, getattr(result, "output", "")
    history = read_export(export)
    assert len(history.loans) >= 40
    out = tmp_path / "fit"
    result = _cli("fit", "--file", export, "--out", out, "--fund", "1", "--json")
    assert getattr(result, "exit_code", None) == 0, getattr(result, "output", "")
    coefficients = json.loads((out / "coefficients.json").read_text())["coefficients"]
    assert json.loads((out / "network-call.json").read_text()) == {"coefficients": coefficients}
    fund_call = json.loads((out / "fund-call.json").read_text())
    assert fund_call["fund"] == 1 and fund_call["coefficients"] == coefficients
    report = (out / "report.html").read_text()
    for heading in ("Held-out metrics", "Calibration", "By purpose", "By fund",
                    "Approval and default rates", "<svg", "ROC AUC", "Brier"):  # fmt: skip
        assert heading in report
    assert all(math.isfinite(c) for c in coefficients)


def test_fit_refuses_a_history_too_short_to_learn_from(tmp_path: Path) -> None:
    export = tmp_path / "short.json"
    result = _cli("simulate", "--out", export, "--waves", "1", "--funds", "1", "--seed", "3")
    assert getattr(result, "exit_code", None) == 0, getattr(result, "output", "")
    result = _cli("fit", "--file", export, "--out", tmp_path / "fit")
    assert getattr(result, "exit_code", None) != 0
    assert "the fitter needs at least 40" in getattr(result, "output", "")
