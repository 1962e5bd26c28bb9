"""``credichain federation``: agreements between funds (X1), split credits (X2), debts (X3).

Theory of operation
-------------------
A typer sub-app that the main CLI mounts, built like ``node.cli.fund`` on
the plumbing of ``node.cli.common``: the same shared options before the
command (``--keystore``, ``--rpc``, ``--localnet-keys``, ``--yes``, ``--wait``,
``--timeout``, also from ``CREDICHAIN_KEYSTORE`` / ``CREDICHAIN_RPC``), the
same signing summary and confirmation, ``--json`` per command.

Transactions: ``propose`` (a funder proposes that the fund federate with a
partner, with ``--trust``, ``--reviewers``, ``--losses``; the partner's
funders propose the same on their side), ``leave`` (propose ending an
agreement), ``split`` (link open requests as one credit). Proposals pass by
consent (F8): object with ``credichain fund object``.

Queries (pallets/federation/queries.py): ``show FUND [--partner P]``, ``list``,
``debts [--fund F]``, ``loss LOAN``, ``split-of REQUEST``.
"""

from __future__ import annotations

from typing import Annotated, Final

import typer

from node.cli import common
from node.cli.common import JsonOut, Reason, Signer, guarded
from pallets.federation.storage import LOSSES, REVIEWERS, TRUST

federation_app: Final = common.group(
    "Federation of funds: agreements, split credits, shared losses."
)


@federation_app.command("propose")
@guarded
def federation_propose(
    ctx: typer.Context,
    signer: Signer,
    fund: int,
    partner: int,
    trust: Annotated[bool, typer.Option("--trust", help="recognize each other's trust (T2)")] = (
        False
    ),
    reviewers: Annotated[bool, typer.Option("--reviewers", help="lend reviewers (C6)")] = False,
    losses: Annotated[bool, typer.Option("--losses", help="share losses (X3)")] = False,
    reason: Reason = common.ZERO_HASH,
    as_json: JsonOut = False,
) -> None:
    """X1/F8: propose that FUND federate with PARTNER (both funds must consent)."""
    options = (TRUST if trust else 0) | (REVIEWERS if reviewers else 0) | (LOSSES if losses else 0)
    if options == 0:
        raise common.CliError("choose at least one of --trust, --reviewers, --losses")
    args = {
        "fund": fund,
        "partner": partner,
        "options": options,
        "reason_hash": common.parse_hash(reason),
    }
    common.send(ctx, signer, "federation", "propose", args, as_json)


@federation_app.command("leave")
@guarded
def federation_leave(
    ctx: typer.Context,
    signer: Signer,
    fund: int,
    partner: int,
    reason: Reason = common.ZERO_HASH,
    as_json: JsonOut = False,
) -> None:
    """X1/F8: propose that FUND leave its agreement with PARTNER (only FUND consents)."""
    args = {"fund": fund, "partner": partner, "reason_hash": common.parse_hash(reason)}
    common.send(ctx, signer, "federation", "propose_leave", args, as_json)


@federation_app.command("split")
@guarded
def federation_split(
    ctx: typer.Context,
    signer: Signer,
    requests: Annotated[list[int], typer.Argument(help="two to four request ids")],
    as_json: JsonOut = False,
) -> None:
    """X2: link your open requests in federated funds as the parts of one credit."""
    common.send(ctx, signer, "federation", "split", {"requests": requests}, as_json)


@federation_app.command("show")
@guarded
def federation_show(
    ctx: typer.Context, fund: int, partner: int | None = None, as_json: JsonOut = False
) -> None:
    """FUND's agreements; with PARTNER, the two funds' agreement, consents and ledgers."""
    if partner is None:
        common.show(ctx, as_json, f"agreements of fund {fund}", "federation_agreements", fund=fund)
    else:
        title = f"funds {fund} and {partner}"
        common.show(ctx, as_json, title, "federation_get", fund=fund, partner=partner)


@federation_app.command("list")
@guarded
def federation_list(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """Every agreement in force (federation_agreements)."""
    common.show(ctx, as_json, "agreements", "federation_agreements")


@federation_app.command("debts")
@guarded
def federation_debts(ctx: typer.Context, fund: int | None = None, as_json: JsonOut = False) -> None:
    """Loss shares assessed, paid and owed (X3), all or FUND's (federation_debts)."""
    data = common.query(ctx, "federation_debts", fund=fund)
    if as_json:
        common.print_data(True, "debts", data)
        return
    data = common.humane(ctx, "federation_debts", data)
    common.print_data(False, "loss-share ledgers", data["ledgers"])
    common.print_data(False, "totals", {k: v for k, v in data.items() if k != "ledgers"})


@federation_app.command("loss")
@guarded
def federation_loss(ctx: typer.Context, loan: int, as_json: JsonOut = False) -> None:
    """How a written-off loan's loss was shared (federation_getLoss)."""
    common.show(ctx, as_json, f"loss of loan {loan}", "federation_getLoss", loan=loan)


@federation_app.command("split-of")
@guarded
def federation_split_of(ctx: typer.Context, request: int, as_json: JsonOut = False) -> None:
    """The split credit REQUEST is part of (federation_getSplit)."""
    common.show(ctx, as_json, f"split of request {request}", "federation_getSplit", request=request)
