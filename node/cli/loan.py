"""``credichain loan``: loans (L2-L6): repay, settle, extend, write off, schedules.

Theory of operation
-------------------
A command group with the shared options before the command
(``credichain loan --rpc URL repay ferdie 0 all``, see ``node.cli.common``).
A transaction command builds one ``loans`` call and signs it through
``common.send``. Queries call ``loans_get`` and ``loans_schedule`` and print
tables in human units, or the raw JSON with ``--json``. An amount is parsed
by ``common.parse_amount``: ``loan repay KEY 0 -5`` is refused as negative.
"""

from __future__ import annotations

from typing import Annotated, Final

import typer

from node.cli import common, display
from node.cli.common import JsonOut, Signer, guarded
from pallets.loans.interest import accrue
from pallets.support.argtypes import AMOUNT

loan_app = common.group("Loans: repay, extend, write off, schedules.")


# ``loan repay ID all`` signs ``loans.settle`` with a ceiling of what is owed now
# plus the interest of SETTLE_MARGIN_SECONDS more. The call executes in a later
# block, whose time is later, and pays exactly what is owed then: the margin is
# a ceiling the payer consents to, never charged. One hour is far more than an
# extrinsic stays valid (256 blocks) on any sane block interval, yet stays
# small: 1 h of interest at 10% a year is about 0.001% of the principal.
SETTLE_MARGIN_SECONDS: Final = 3_600


def settle_ceiling(outstanding: int, rate_bps: int, owed_now: int) -> int:
    """What is owed now + the interest of SETTLE_MARGIN_SECONDS more, rounded up."""
    margin, rest = accrue(outstanding, rate_bps, SETTLE_MARGIN_SECONDS, 0)
    return owed_now + margin + (1 if rest else 0)


@loan_app.command("repay", cls=display.NumberArguments)
@guarded
def loan_repay(
    ctx: typer.Context,
    signer: Signer,
    loan: int,
    amount: Annotated[str, typer.Argument(help='token units, or "all" to settle in full')],
    as_json: JsonOut = False,
) -> None:
    """L4: pay towards a loan (anyone may): interest first, then principal.

    AMOUNT "all" pays the loan off in one call (loans.settle): exactly what is
    owed at the block's time, signed with a ceiling of what is owed now plus one
    hour of interest (the call runs in a later block; only what is owed then is
    paid, the margin is never charged).
    """
    if amount.strip().lower() != "all":
        args = {"loan": loan, "amount": common.units(ctx, amount)}
        common.send(ctx, signer, "loans", "repay", args, as_json)
        return
    data = common.query(ctx, "loans_get", loan=loan)
    if data is None:
        raise common.CliError(f"loan {loan}: not found")
    if data["status"] != "active":
        raise common.CliError(f"loan {loan} is {data['status']}: nothing to pay")
    owed_now = int(data["owed_now"])
    ceiling = settle_ceiling(int(data["outstanding"]), int(data["rate_bps"]), owed_now)
    seen = common.view(ctx)
    shown = {
        "loan": str(loan),
        "max_amount": seen.argument(AMOUNT, ceiling),
        "owed now": f"{seen.amount(owed_now)} (at {seen.time(int(data['time']))}; what is "
        "owed when the call runs is paid, up to max_amount)",
    }
    args = {"loan": loan, "max_amount": ceiling}
    common.send(ctx, signer, "loans", "settle", args, as_json, shown)


@loan_app.command("extend")
@guarded
def loan_extend(ctx: typer.Context, signer: Signer, loan: int, seconds: int,
                as_json: JsonOut = False) -> None:  # fmt: skip
    """L5: a reviewer votes to move the due dates by SECONDS (all must agree)."""
    common.send(ctx, signer, "loans", "extend", {"loan": loan, "seconds": seconds}, as_json)


@loan_app.command("write-off")
@guarded
def loan_write_off(ctx: typer.Context, signer: Signer, loan: int,
                   as_json: JsonOut = False) -> None:  # fmt: skip
    """L6: vote to write off a loan late for default_after."""
    common.send(ctx, signer, "loans", "vote_writeoff", {"loan": loan}, as_json)


@loan_app.command("show")
@guarded
def loan_show(ctx: typer.Context, loan: int, as_json: JsonOut = False) -> None:
    """A loan with what is owed now and whether it is late (loans_get)."""
    common.show(ctx, as_json, f"loan {loan}", "loans_get", loan=loan)


@loan_app.command("list")
@guarded
def loan_list(
    ctx: typer.Context,
    fund: int,
    borrower: Annotated[
        str | None, typer.Option("--borrower", help="only loans of this key name or address")
    ] = None,
    as_json: JsonOut = False,
) -> None:
    """A fund's loans (a loan's id is its approved request's id; loans_get each, at most 1000)."""
    with common.connect(common.options(ctx).rpc) as client:
        approved = client.call_named("credit_listRequests", fund=fund, status="approved")
        mine = None
        if borrower is not None:
            mine = common.resolve_address(client, common.keystore(ctx), borrower)
        rows = []
        for request in approved:
            loan = client.call_named("loans_get", loan=request["id"])
            if loan is None or (mine is not None and mine not in loan["borrowers"]):
                continue
            keep = ("id", "status", "principal", "outstanding", "owed_now", "late", "borrowers")
            rows.append({k: loan[k] for k in keep})
    if not as_json:
        rows = [common.humane(ctx, "loans_get", row) for row in rows]
    common.print_data(as_json, f"loans of fund {fund}", rows)


@loan_app.command("schedule")
@guarded
def loan_schedule(ctx: typer.Context, loan: int, as_json: JsonOut = False) -> None:
    """L2: the repayment schedule (loans_schedule)."""
    common.show(ctx, as_json, f"schedule of loan {loan}", "loans_schedule", loan=loan)
