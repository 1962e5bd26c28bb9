"""``credichain assess``: the credit score's model (C5), fitted off the chain.

* ``simulate --out FILE``: build a simulated community chain in process
  (node/assess/simulate.py) and write its public history (an export);
* ``export --out FILE``: read a node's public history over JSON-RPC (``--rpc``);
* ``fit (--file EXPORT | --rpc URL) --out DIR``: fit the logistic model, check it
  on the later loans, write the coefficients, the proposal files and report.html;
* ``propose-fund KEY FILE``: a funder proposes the fitted coefficients and a minimum
  score for the fund (F8, ``assess.propose_fund_model``); the network-wide proposal
  is ``credichain gov propose call KEY assess set_network_model "$(cat network-call.json)"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from node.assess.fit import FitError, fit
from node.assess.history import History, HistoryError, read_export, read_history, rpc_getter
from node.assess.history import write_export as write_history
from node.assess.report import write_outputs
from node.assess.simulate import SimConfig, simulate
from node.cli import common
from node.cli.common import JsonOut, Signer, guarded
from node.cli.options import options

assess_app = common.group("Credit assessment (C5): simulate a community, fit, propose.")


def _from_rpc(ctx: typer.Context) -> History:
    with common.connect(options(ctx).rpc) as client:
        head = client.block_hash()
        if head is None:
            raise common.CliError("the node has no best block")
        height = client.best_height()
        genesis = "0x" + client.genesis_hash().hex()
        return read_history(rpc_getter(client, head), genesis=genesis, height=height)


@assess_app.command("simulate")
@guarded
def assess_simulate(
    out: Annotated[Path, typer.Option("--out", help="the export file to write")],
    waves: Annotated[int, typer.Option(min=1, max=1000, help="waves of requests")] = 30,
    funds: Annotated[int, typer.Option(min=1, max=50)] = 4,
    requests: Annotated[int, typer.Option(min=1, max=40, help="requests per fund and wave")] = 6,
    borrowers: Annotated[int, typer.Option(min=8, max=2000)] = 80,
    seed: Annotated[int, typer.Option(help="the simulation's seed")] = 24,
    as_json: JsonOut = False,
) -> None:
    """Build a simulated chain through the real runtime and write its public history."""
    config = SimConfig(
        seed=seed, funds=funds, waves=waves, requests_per_wave=requests, borrowers=borrowers
    )
    result = simulate(config)
    chain = result.builder.chain
    history = read_history(
        result.state().get, genesis="0x" + chain.genesis_hash.hex(), height=chain.height
    )
    write_history(history, out)
    summary = {
        "blocks": chain.height,
        "loans": len(history.loans),
        "written off": sum(1 - row.repaid for row in history.loans),
        "requests": len(history.requests),
        "export": str(out),
    }
    common.print_data(as_json, "simulated chain", summary)


@assess_app.command("export")
@guarded
def assess_export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="the export file to write")],
    as_json: JsonOut = False,
) -> None:
    """Read a node's public repayment history (--rpc) into an export file."""
    history = _from_rpc(ctx)
    write_history(history, out)
    common.print_data(as_json, "history", {"height": history.height, "loans": len(history.loans)})


@assess_app.command("fit")
@guarded
def assess_fit(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="directory for the outputs")],
    file: Annotated[Path | None, typer.Option("--file", help="an export file")] = None,
    fund: Annotated[int, typer.Option(min=0, help="the fund named in fund-call.json")] = 0,
    as_json: JsonOut = False,
) -> None:
    """Fit the model on --file EXPORT (or the node at --rpc); write coefficients and report."""
    try:
        history = read_export(file) if file is not None else _from_rpc(ctx)
        result = fit(history)
    except (HistoryError, FitError) as exc:
        raise common.CliError(str(exc)) from None
    paths = write_outputs(history, result, out, fund=fund)
    fitted, current = result.overall["fitted"], result.overall["current"]

    def shown(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    summary: dict[str, Any] = {
        "loans": len(history.loans),
        "held out (later loans)": result.test,
        "AUC fitted / current": f"{shown(fitted.auc)} / {shown(current.auc)}",
        "Brier fitted / current": f"{shown(fitted.brier)} / {shown(current.brier)}",
        "calibration error fitted / current": f"{shown(fitted.ece)} / {shown(current.ece)}",
        "written": ", ".join(str(p) for p in paths),
    }
    common.print_data(as_json, "fit", summary)


@assess_app.command("propose-fund")
@guarded
def assess_propose_fund(
    ctx: typer.Context,
    signer: Signer,
    file: Annotated[Path, typer.Argument(help="fund-call.json written by assess fit")],
    fund: Annotated[int | None, typer.Option(min=0, help="the fund (default: the file's)")] = None,
    min_score: Annotated[int | None, typer.Option(min=0, max=100, help="0-100")] = None,
    as_json: JsonOut = False,
) -> None:
    """F8: propose the file's coefficients (and a minimum score) for a fund, by consent."""
    try:
        args = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise common.CliError(f"{file}: {exc}") from None
    if not isinstance(args, dict) or set(args) != {"fund", "coefficients", "min_score",
                                                   "reason_hash"}:  # fmt: skip
        raise common.CliError(f"{file}: expected fund, coefficients, min_score, reason_hash")
    if fund is not None:
        args["fund"] = fund
    if min_score is not None:
        args["min_score"] = min_score
    reason = str(args["reason_hash"])
    args["reason_hash"] = bytes.fromhex(reason.removeprefix("0x"))
    common.send(ctx, signer, "assess", "propose_fund_model", args, as_json)
