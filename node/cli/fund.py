"""``credichain fund``: community funds (F1-F10): create, join, consent, leave, reports.

Theory of operation
-------------------
A command group with the shared options before the command
(``credichain fund --rpc URL create alice ...``, see ``node.cli.common``).
A transaction command builds one ``funds`` call and signs it through
``common.send``: the summary shows exactly what will be signed, then it is
confirmed, submitted and followed to finalization. Amounts are typed in token
units ("12.5") and parsed exactly; a document hash is ``0x`` + 64 hex digits
or the path of a file, hashed with blake2b-256 (only the hash goes on chain,
F10). Queries call ``funds_get``, ``funds_list``, ``funds_report`` and
``trust_get`` and print tables in human units (``common.show``), or the raw
JSON with ``--json``. ``statement`` pages through ``funds_statement`` (the
node's history index) and prints the fund's book, or writes it as CSV.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import typer

from ledger.crypto import decode_address, encode_address
from node.cli import common
from node.cli.common import JsonOut, Reason, Signer, guarded
from node.cli.display import View, print_whole, rows
from node.cli.wallet import entry_row, event_text, history_pages
from pallets.funds.storage import PROPOSAL_KINDS, PURPOSES

fund_app = common.group("Community banks: create, join, consent, leave, reports.")


@fund_app.command("create")
@guarded
def fund_create(
    ctx: typer.Context,
    signer: Signer,
    name: Annotated[str, typer.Option(help="the fund's name")],
    contribution: Annotated[str, typer.Option(help="C, in token units, that every funder pays")],
    purpose: Annotated[list[str], typer.Option(help=f"one or more of {', '.join(PURPOSES)}")],
    scope: Annotated[str, typer.Option(help="what the fund is for")] = "",
    rate_bps: Annotated[int, typer.Option(min=0, max=10_000, help="annual interest rate")] = 0,
    policy: Annotated[str, typer.Option(help="anti-discrimination policy: 0x hash or file")] = (
        common.ZERO_HASH
    ),
    conduct: Annotated[
        str, typer.Option(help="code of conduct: 0x hash or file")
    ] = common.ZERO_HASH,
    bioregion: Annotated[int | None, typer.Option(min=0, help="bioregion id")] = None,
    as_json: JsonOut = False,
) -> None:
    """F1: create a fund; KEY is its first funder and pays C."""
    for item in purpose:
        if item not in PURPOSES:
            raise common.CliError(f"purpose {item!r} is not one of {', '.join(PURPOSES)}")
    args = {
        "name": name,
        "scope": scope,
        "bioregion": bioregion,
        "policy_hash": common.parse_hash(policy),
        "conduct_hash": common.parse_hash(conduct),
        "contribution": common.units(ctx, contribution),
        "rate_bps": rate_bps,
        "purposes": purpose,
    }
    common.send(ctx, signer, "funds", "create", args, as_json)


@fund_app.command("join")
@guarded
def fund_join(ctx: typer.Context, signer: Signer, fund: int, as_json: JsonOut = False) -> None:
    """F2/F4: pay C and become a funder."""
    common.send(ctx, signer, "funds", "join", {"fund": fund}, as_json)


@fund_app.command("propose")
@guarded
def fund_propose(
    ctx: typer.Context,
    signer: Signer,
    fund: int,
    kind: Annotated[str, typer.Argument(help=" | ".join(PROPOSAL_KINDS))],
    subject: Annotated[str | None, typer.Option(help="candidate funder or payee")] = None,
    amount: Annotated[str, typer.Option(help="expense in token units")] = "0",
    rate_bps: Annotated[int, typer.Option(min=0, max=10_000)] = 0,
    apply_to_open: Annotated[bool, typer.Option(help="a lower rate also for open credits")] = (
        False
    ),
    reason: Reason = common.ZERO_HASH,
    as_json: JsonOut = False,
) -> None:
    """F8: propose a new funder, an interest rate or an expense (passes without objection)."""
    if kind not in PROPOSAL_KINDS:
        raise common.CliError(f"kind must be one of {', '.join(PROPOSAL_KINDS)}")
    args = {
        "fund": fund,
        "kind": kind,
        "subject": None if subject is None else common.account_id(ctx, subject),
        "amount": common.units(ctx, amount) if amount != "0" else 0,
        "rate_bps": rate_bps,
        "apply_to_open": apply_to_open,
        "reason_hash": common.parse_hash(reason),
    }
    common.send(ctx, signer, "funds", "propose", args, as_json)


@fund_app.command("object")
@guarded
def fund_object(ctx: typer.Context, signer: Signer, proposal: int,
                reason: Reason = common.ZERO_HASH,
                as_json: JsonOut = False) -> None:  # fmt: skip
    """F8: object to a proposal (one objection rejects it)."""
    args = {"proposal": proposal, "reason_hash": common.parse_hash(reason)}
    common.send(ctx, signer, "funds", "object", args, as_json)


@fund_app.command("vote-removal")
@guarded
def fund_vote_removal(ctx: typer.Context, signer: Signer, fund: int, target: str,
                      as_json: JsonOut = False) -> None:  # fmt: skip
    """F6: vote to remove a funder (75% of the others remove them)."""
    common.send(
        ctx,
        signer,
        "funds",
        "vote_removal",
        {"fund": fund, "target": common.account_id(ctx, target)},
        as_json,
    )


@fund_app.command("leave")
@guarded
def fund_leave(ctx: typer.Context, signer: Signer, fund: int, as_json: JsonOut = False) -> None:
    """F5: ask to be paid your claim and leave."""
    common.send(ctx, signer, "funds", "leave", {"fund": fund}, as_json)


@fund_app.command("show")
@guarded
def fund_show(ctx: typer.Context, fund: int, as_json: JsonOut = False) -> None:
    """A fund, its cash and funders (funds_get)."""
    common.show(ctx, as_json, f"fund {fund}", "funds_get", fund=fund)


@fund_app.command("list")
@guarded
def fund_list(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """Every fund (funds_list)."""
    common.show(ctx, as_json, "funds", "funds_list")


@fund_app.command("report")
@guarded
def fund_report(ctx: typer.Context, fund: int, as_json: JsonOut = False) -> None:
    """L7: cash, outstanding, utilization, income, losses, PAR30/60/90; F5: exits pending,
    exit_arrears and exits_in_arrears (claims unpaid past exit_period) (funds_report)."""
    common.show(ctx, as_json, f"fund {fund} report", "funds_report", fund=fund)


@fund_app.command("trust")
@guarded
def fund_trust(ctx: typer.Context, fund: int, who: str, as_json: JsonOut = False) -> None:
    """An account's trust at a fund, its trust in use and what it can still bring (T5)."""
    common.show(ctx, as_json, f"trust of {who} at fund {fund}", "trust_get", who, fund=fund)


# ------------------------------------------------------------- the book (F10, issue 20)

CSV_COLUMNS: Final = (
    "height", "time", "block_hash", "position", "extrinsic_hash", "signer", "call", "success",
    "counterparty", "in", "out", "balance", "in_minor", "out_minor", "balance_minor", "events",
)  # fmt: skip


def plain_amount(units: int, decimals: int) -> str:
    """Minor units as a plain decimal a spreadsheet reads: ``12.500000``."""
    whole, frac = divmod(units, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}" if decimals else str(whole)


def counterparties(entry: dict[str, Any], cash: str, hrp: str) -> str:
    """The other side of each movement of the fund's cash account in ``entry``."""
    found = []
    for event in entry.get("events") or []:
        attrs = event.get("attributes") or {}
        kind = (event.get("pallet"), event.get("name"))
        if kind == ("balances", "Transferred"):
            sender, dest = str(attrs.get("sender")), str(attrs.get("dest"))
            other = dest if sender == cash else sender if dest == cash else None
            if other is not None:
                found.append(encode_address(decode_address(other), hrp))
        elif kind == ("balances", "Minted") and attrs.get("dest") == cash:
            found.append("(minted)")
        elif kind == ("balances", "Burned") and attrs.get("source") == cash:
            found.append("(burned)")
    return " ".join(found)


def csv_row(entry: dict[str, Any], cash: str, view: View) -> dict[str, str]:
    """One entry as a CSV row: plain numbers and addresses, never keystore names."""
    decimals = view.decimals
    nameless = dataclasses.replace(view, names={})
    moment = datetime.fromtimestamp(int(entry["timestamp"]) // 1000, tz=UTC)
    return {
        "height": str(entry["height"]),
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "block_hash": entry["blockHash"],
        "position": str(entry["position"]),
        "extrinsic_hash": entry.get("extrinsicHash") or "",
        "signer": entry.get("signer") or "",
        "call": entry.get("call") or "",
        "success": "" if entry.get("success") is None else str(entry["success"]).lower(),
        "counterparty": counterparties(entry, cash, view.hrp),
        "in": plain_amount(int(entry["in"]), decimals),
        "out": plain_amount(int(entry["out"]), decimals),
        "balance": plain_amount(int(entry["balance"]), decimals),
        "in_minor": str(entry["in"]),
        "out_minor": str(entry["out"]),
        "balance_minor": str(entry["balance"]),
        "events": "; ".join(event_text(nameless, e) for e in entry.get("events") or []),
    }


@fund_app.command("statement")
@guarded
def fund_statement(
    ctx: typer.Context,
    fund: Annotated[int, typer.Argument(metavar="ID", min=0, help="the fund's id")],
    from_height: Annotated[int, typer.Option(min=0, help="first block (inclusive)")] = 0,
    to_height: Annotated[
        int | None, typer.Option(min=0, help="last block (inclusive; default: the head)")
    ] = None,
    csv_file: Annotated[
        str | None,
        typer.Argument(metavar="[FILE]", help="with --csv: the file to write (else stdout)"),
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="write the book as CSV (columns in docs/wallet.md)")
    ] = False,
    as_json: JsonOut = False,
) -> None:
    """F10: the fund's public book, every movement with its cash after it (funds_statement)."""
    if csv_file is not None and not as_csv:
        raise common.CliError(f"FILE ({csv_file}) is where --csv writes: add --csv")
    opts = common.options(ctx)
    params: dict[str, Any] = {"fund": fund, "from_height": from_height, "to_height": to_height}
    with common.connect(opts.rpc) as client:
        found = client.call_named("funds_get", fund=fund)
        if found is None:
            raise common.CliError(f"there is no fund {fund}")
        page, entries = history_pages(client, "funds_statement", params, None)
        view = common.keystore(ctx).view(client.properties(), opts.local_time)
    cash = str(found["cash_account"])
    cash_hex = "0x" + decode_address(cash, view.hrp).hex()
    if as_json:
        typer.echo(json.dumps({**page, "entries": entries, "next": None}, sort_keys=True))
        return
    if as_csv:
        with contextlib.ExitStack() as stack:
            stream = (
                sys.stdout
                if csv_file is None
                else stack.enter_context(open(csv_file, "w", newline="", encoding="utf-8"))
            )
            writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for entry in entries:
                writer.writerow(csv_row(entry, cash_hex, view))
        if csv_file is not None:
            common.err.print(f"{len(entries)} entries written to {csv_file}", highlight=False)
        return
    opening = int(page["openingBalance"])
    closing = int(entries[-1]["balance"]) if entries else opening
    title = (
        f"fund {fund} statement, blocks {page['fromHeight']}-{page['toHeight']}: "
        f"{len(entries)} entries, opening {view.amount(opening)}, closing {view.amount(closing)}"
    )
    print_whole(common.out, rows(title, [entry_row(view, e) for e in entries]))
