"""``credichain fund|credit|loan``: every call of the community-bank pallets, and their queries.

Theory of operation
-------------------
Three typer sub-apps (``fund_app``, ``credit_app``, ``loan_app``) that the
main CLI mounts. Their shared options (keystore, RPC URL, localnet keys,
``--yes``, ``--wait``, ``--timeout``) are given before the command, e.g.
``credichain fund --rpc URL create alice ...``, and also read from
``CREDICHAIN_KEYSTORE`` / ``CREDICHAIN_RPC``; ``--json`` is per command.

A transaction command builds one ``Call``, prints exactly what will be
signed, asks for confirmation, signs with a key of the wallet's keystore and
submits through JSON-RPC, reusing ``node.cli.wallet`` (keys, nonces,
mortality, waiting for finality). Amounts are typed in token units ("12.5")
and parsed exactly; a document hash is ``0x`` + 64 hex digits or the path of
a file, hashed with blake2b-256 (only the hash goes on chain, F10).

Query commands call the node's ``funds_*``, ``trust_get``, ``credit_*`` and
``loans_*`` methods (node/rpc_credit.py) and print rich tables, or the raw
JSON with ``--json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.table import Table

from ledger.crypto import blake2b256, encode_address
from ledger.types import Call
from node.cli.wallet import (
    DEFAULT_KEYSTORE,
    DEFAULT_RPC,
    WalletError,
    _confirm,
    _sign,
    describe_outcome,
    emit,
    fee_summary,
    guarded,
    load_key,
    parse_amount,
    resolve_account,
    submit_and_wait,
)
from pallets.construct import registry
from pallets.credit.storage import STATUSES, VERDICTS
from pallets.funds.storage import PROPOSAL_KINDS, PURPOSES
from pallets.loans.interest import accrue
from rpc.client import RpcClient

ZERO_HASH: Final = "0x" + "00" * 32
out = Console()

fund_app = typer.Typer(
    help="Community banks: create, join, consent, leave, reports.", no_args_is_help=True
)
credit_app = typer.Typer(help="Credit requests: submit, sign, review.", no_args_is_help=True)
loan_app = typer.Typer(help="Loans: repay, extend, write off, schedules.", no_args_is_help=True)

JsonOut = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")]
Signer = Annotated[str, typer.Argument(metavar="KEY", help="keystore key that signs")]


@dataclass(frozen=True, slots=True)
class Options:
    keystore: Path
    rpc: str
    localnet_keys: bool
    yes: bool
    wait: bool
    timeout: float


def _common(
    ctx: typer.Context,
    keystore: Annotated[
        Path, typer.Option("--keystore", envvar="CREDICHAIN_KEYSTORE", help="keystore directory")
    ] = DEFAULT_KEYSTORE,
    rpc: Annotated[str, typer.Option("--rpc", envvar="CREDICHAIN_RPC", help="node RPC URL")] = (
        DEFAULT_RPC
    ),
    localnet_keys: Annotated[
        bool, typer.Option("--localnet-keys", help="accept unencrypted localnet key files")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="sign without confirmation")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait until finalized")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds to wait")] = 60.0,
) -> None:
    ctx.obj = Options(keystore, rpc, localnet_keys, yes, wait, timeout)


for _app in (fund_app, credit_app, loan_app):
    _app.callback()(_common)


def _opts(ctx: typer.Context) -> Options:
    options = ctx.obj
    if not isinstance(options, Options):  # pragma: no cover - the callback always runs
        raise WalletError("internal: options missing")
    return options


def parse_hash(text: str) -> bytes:
    """``0x`` + 64 hex digits, or a file whose blake2b-256 is taken."""
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raise WalletError(f"hash {text!r} is not hex") from None
        if len(raw) != 32:
            raise WalletError(f"hash {text!r} must be 32 bytes, got {len(raw)}")
        return raw
    path = Path(text).expanduser()
    if not path.is_file():
        raise WalletError(f"{text!r} is neither a 0x hash nor a readable file")
    return blake2b256(path.read_bytes())


def _send(ctx: typer.Context, signer: str, pallet: str, function: str, args: dict[str, Any],
          as_json: bool, shown: dict[str, str] | None = None) -> None:  # fmt: skip
    """Sign ``pallet.function(args)`` with ``signer``, confirm, submit, report."""
    options = _opts(ctx)
    with RpcClient(options.rpc) as client:
        props = client.properties()
        hrp = props.address_prefix
        key = load_key(options.keystore, signer, options.localnet_keys)
        ext, valid_until, genesis = _sign(client, key, Call(pallet, function, args), None, 256)
        summary = {
            "call": f"{pallet}.{function}",
            **(
                shown
                or {k: _show(v, hrp, _is_account(pallet, function, k)) for k, v in args.items()}
            ),
            "signer": encode_address(key.public, hrp),
            "fee": fee_summary(client, ext.encode(), props.token_decimals, props.token_symbol),
            "nonce": str(ext.nonce),
            "valid until": f"block #{valid_until}",
            "chain": f"genesis 0x{genesis.hex()}",
        }
        _confirm(summary, options.yes)
        result = submit_and_wait(client, ext.encode(), options.wait, options.timeout, as_json)
    emit(as_json, result, describe_outcome(result))
    if result.get("success") is False:
        raise typer.Exit(1)


RUNTIME_CALLS: Final = registry()  # argument types, for the summary shown before signing


def _is_account(pallet: str, function: str, arg: str) -> bool:
    """Whether the call declares ``arg`` as an account (else 32 bytes are a hash)."""
    call = RUNTIME_CALLS.call(pallet, function)
    declared = dict(call.args) if call is not None else {}
    kind = declared.get(arg)
    return kind is not None and "account" in str(kind.describe())


def _show(value: Any, hrp: str, account: bool) -> str:
    if isinstance(value, bytes):
        return encode_address(value, hrp) if account and len(value) == 32 else "0x" + value.hex()
    if isinstance(value, list):
        return ", ".join(_show(v, hrp, account) for v in value) or "-"
    return "-" if value is None else str(value)


def _query(ctx: typer.Context, method: str, **params: Any) -> Any:
    with RpcClient(_opts(ctx).rpc) as client:
        return client.call_named(method, **params)


def _account(ctx: typer.Context, who: str) -> tuple[bytes, RpcClient]:
    client = RpcClient(_opts(ctx).rpc)
    return resolve_account(_opts(ctx).keystore, who, client.properties().address_prefix), client


def _units(ctx: typer.Context, amount: str) -> int:
    with RpcClient(_opts(ctx).rpc) as client:
        return parse_amount(amount, client.properties().token_decimals)


def _table(title: str, data: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    for field, value in data.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, sort_keys=True)
        table.add_row(field, str(value))
    out.print(table)


def _rows(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    columns = list(rows[0]) if rows else ["(none)"]
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    out.print(table)


def _print(as_json: bool, title: str, data: Any) -> None:
    if data is None:
        raise WalletError(f"{title}: not found")
    if as_json:
        typer.echo(json.dumps(data, sort_keys=True))
    elif isinstance(data, list):
        _rows(title, data)
    else:
        _table(title, data)


def _who(ctx: typer.Context, who: str) -> bytes:
    account, client = _account(ctx, who)
    client.close()
    return account


# ------------------------------------------------------------- funds


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
        ZERO_HASH
    ),
    conduct: Annotated[str, typer.Option(help="code of conduct: 0x hash or file")] = ZERO_HASH,
    bioregion: Annotated[int | None, typer.Option(min=0, help="bioregion id")] = None,
    as_json: JsonOut = False,
) -> None:
    """F1: create a fund; KEY is its first funder and pays C."""
    for item in purpose:
        if item not in PURPOSES:
            raise WalletError(f"purpose {item!r} is not one of {', '.join(PURPOSES)}")
    args = {
        "name": name,
        "scope": scope,
        "bioregion": bioregion,
        "policy_hash": parse_hash(policy),
        "conduct_hash": parse_hash(conduct),
        "contribution": _units(ctx, contribution),
        "rate_bps": rate_bps,
        "purposes": purpose,
    }
    _send(ctx, signer, "funds", "create", args, as_json)


@fund_app.command("join")
@guarded
def fund_join(ctx: typer.Context, signer: Signer, fund: int, as_json: JsonOut = False) -> None:
    """F2/F4: pay C and become a funder."""
    _send(ctx, signer, "funds", "join", {"fund": fund}, as_json)


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
    reason: Annotated[str, typer.Option(help="0x hash or file of the reasons")] = ZERO_HASH,
    as_json: JsonOut = False,
) -> None:
    """F8: propose a new funder, an interest rate or an expense (passes without objection)."""
    if kind not in PROPOSAL_KINDS:
        raise WalletError(f"kind must be one of {', '.join(PROPOSAL_KINDS)}")
    args = {
        "fund": fund,
        "kind": kind,
        "subject": None if subject is None else _who(ctx, subject),
        "amount": _units(ctx, amount) if amount != "0" else 0,
        "rate_bps": rate_bps,
        "apply_to_open": apply_to_open,
        "reason_hash": parse_hash(reason),
    }
    _send(ctx, signer, "funds", "propose", args, as_json)


@fund_app.command("object")
@guarded
def fund_object(ctx: typer.Context, signer: Signer, proposal: int,
                reason: Annotated[str, typer.Option()] = ZERO_HASH,
                as_json: JsonOut = False) -> None:  # fmt: skip
    """F8: object to a proposal (one objection rejects it)."""
    args = {"proposal": proposal, "reason_hash": parse_hash(reason)}
    _send(ctx, signer, "funds", "object", args, as_json)


@fund_app.command("vote-removal")
@guarded
def fund_vote_removal(ctx: typer.Context, signer: Signer, fund: int, target: str,
                      as_json: JsonOut = False) -> None:  # fmt: skip
    """F6: vote to remove a funder (75% of the others remove them)."""
    _send(
        ctx, signer, "funds", "vote_removal", {"fund": fund, "target": _who(ctx, target)}, as_json
    )


@fund_app.command("leave")
@guarded
def fund_leave(ctx: typer.Context, signer: Signer, fund: int, as_json: JsonOut = False) -> None:
    """F5: ask to be paid your claim and leave."""
    _send(ctx, signer, "funds", "leave", {"fund": fund}, as_json)


@fund_app.command("show")
@guarded
def fund_show(ctx: typer.Context, fund: int, as_json: JsonOut = False) -> None:
    """A fund, its cash and funders (funds_get)."""
    _print(as_json, f"fund {fund}", _query(ctx, "funds_get", fund=fund))


@fund_app.command("list")
@guarded
def fund_list(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """Every fund (funds_list)."""
    _print(as_json, "funds", _query(ctx, "funds_list"))


@fund_app.command("report")
@guarded
def fund_report(ctx: typer.Context, fund: int, as_json: JsonOut = False) -> None:
    """L7: cash, outstanding, utilization, income, losses, PAR30/60/90; F5: exits pending,
    exit_arrears and exits_in_arrears (claims unpaid past exit_period) (funds_report)."""
    _print(as_json, f"fund {fund} report", _query(ctx, "funds_report", fund=fund))


@fund_app.command("trust")
@guarded
def fund_trust(ctx: typer.Context, fund: int, who: str, as_json: JsonOut = False) -> None:
    """An account's trust at a fund, its trust in use and what it can still bring (T5)."""
    with RpcClient(_opts(ctx).rpc) as client:
        hrp = client.properties().address_prefix
        address = encode_address(resolve_account(_opts(ctx).keystore, who, hrp), hrp)
        data = client.call_named("trust_get", fund=fund, address=address)
    _print(as_json, f"trust of {address} at fund {fund}", data)


# ------------------------------------------------------------- credit


@credit_app.command("submit")
@guarded
def credit_submit(
    ctx: typer.Context,
    signer: Signer,
    fund: int,
    amount: Annotated[str, typer.Option(help="in token units")],
    purpose: Annotated[str, typer.Option(help=" | ".join(PURPOSES))],
    term: Annotated[int, typer.Option(min=1, help="seconds")],
    installments: Annotated[int, typer.Option(min=1, max=120)] = 1,
    borrower: Annotated[list[str] | None, typer.Option(help="co-borrowers (repeat)")] = None,
    recipient: Annotated[str | None, typer.Option(help="who receives it (default KEY)")] = None,
    what: Annotated[str, typer.Option(help="what it is for")] = "",
    good: Annotated[str, typer.Option(help="how it is repaid if all goes well")] = "",
    bad: Annotated[str, typer.Option(help="how it is repaid if not")] = "",
    why: Annotated[str, typer.Option(help="why the borrowers can be trusted")] = "",
    document: Annotated[list[str] | None, typer.Option(help="0x hash or file (repeat)")] = None,
    provider: Annotated[list[str] | None, typer.Option(help="providers involved (repeat)")] = None,
    as_json: JsonOut = False,
) -> None:
    """C1: request a credit; co-borrowers then `credit sign` it (C2)."""
    me = _who(ctx, signer)
    args = {
        "fund": fund,
        "borrowers": [me, *(_who(ctx, b) for b in borrower or [])],
        "amount": _units(ctx, amount),
        "purpose": purpose,
        "recipient": me if recipient is None else _who(ctx, recipient),
        "term": term,
        "installments": installments,
        "what": what,
        "repayment_good": good,
        "repayment_bad": bad,
        "trust_reasons": why,
        "documents": [parse_hash(d) for d in document or []],
        "providers": [_who(ctx, p) for p in provider or []],
    }
    _send(ctx, signer, "credit", "submit", args, as_json)


def _request_call(name: str, doc: str) -> None:
    def command(ctx: typer.Context, signer: Signer, request: int, as_json: JsonOut = False) -> None:
        _send(ctx, signer, "credit", name, {"request": request}, as_json)

    command.__doc__ = doc
    credit_app.command(name)(guarded(command))


_request_call("sign", "C2: a co-borrower signs the request.")
_request_call("endorse", "C5: a funder vouches for the request on chain.")
_request_call("withdraw", "The submitter withdraws an open request.")
_request_call("recuse", "C7: a drawn reviewer steps down; another is drawn in their place.")


@credit_app.command("conflict")
@guarded
def credit_conflict(ctx: typer.Context, signer: Signer, request: int,
                    reason: Annotated[str, typer.Option()] = ZERO_HASH,
                    as_json: JsonOut = False) -> None:  # fmt: skip
    """C7: a reviewer (or, before the draw, a funder) declares a conflict of interest."""
    args = {"request": request, "reason_hash": parse_hash(reason)}
    _send(ctx, signer, "credit", "declare_conflict", args, as_json)


@credit_app.command("answer-conflict")
@guarded
def credit_answer_conflict(
    ctx: typer.Context,
    signer: Signer,
    request: int,
    reviewer: str,
    accept: Annotated[bool, typer.Option("--accept/--refuse")],
    as_json: JsonOut = False,
) -> None:
    """C7: accept a conflicted reviewer, or refuse (they are redrawn)."""
    args = {"request": request, "reviewer": _who(ctx, reviewer), "accept": accept}
    _send(ctx, signer, "credit", "answer_conflict", args, as_json)


@credit_app.command("review")
@guarded
def credit_review(
    ctx: typer.Context,
    signer: Signer,
    request: int,
    verdict: Annotated[str, typer.Argument(help=" | ".join(VERDICTS))],
    conclusions: Annotated[str, typer.Option(help="0x hash or file of the conclusions")] = (
        ZERO_HASH
    ),
    as_json: JsonOut = False,
) -> None:
    """C8: approve, decline or ask for improvements."""
    if verdict not in VERDICTS:
        raise WalletError(f"verdict must be one of {', '.join(VERDICTS)}")
    args = {"request": request, "verdict": verdict, "conclusions_hash": parse_hash(conclusions)}
    _send(ctx, signer, "credit", "review", args, as_json)


@credit_app.command("amend")
@guarded
def credit_amend(
    ctx: typer.Context,
    signer: Signer,
    request: int,
    what: Annotated[str, typer.Option()] = "",
    good: Annotated[str, typer.Option()] = "",
    bad: Annotated[str, typer.Option()] = "",
    why: Annotated[str, typer.Option()] = "",
    document: Annotated[list[str] | None, typer.Option()] = None,
    as_json: JsonOut = False,
) -> None:
    """C8: amend a request that needs improvement; a new review round starts."""
    args = {
        "request": request,
        "what": what,
        "repayment_good": good,
        "repayment_bad": bad,
        "trust_reasons": why,
        "documents": [parse_hash(d) for d in document or []],
    }
    _send(ctx, signer, "credit", "amend", args, as_json)


@credit_app.command("show")
@guarded
def credit_show(ctx: typer.Context, request: int, as_json: JsonOut = False) -> None:
    """A request with its draw, verdicts and approval record (credit_getRequest)."""
    _print(as_json, f"request {request}", _query(ctx, "credit_getRequest", request=request))


@credit_app.command("list")
@guarded
def credit_list(ctx: typer.Context, fund: int,
                status: Annotated[str | None, typer.Option(help=" | ".join(STATUSES))] = None,
                as_json: JsonOut = False) -> None:  # fmt: skip
    """A fund's requests (credit_listRequests)."""
    params: dict[str, Any] = {"fund": fund} if status is None else {"fund": fund, "status": status}
    _print(as_json, f"requests of fund {fund}", _query(ctx, "credit_listRequests", **params))


@credit_app.command("redraw")
@guarded
def credit_redraw(ctx: typer.Context, request: int, as_json: JsonOut = False) -> None:
    """C6: re-run the reviewer draws from their stored seeds and compare (credit_redraw)."""
    data = _query(ctx, "credit_redraw", request=request)
    if data is None or as_json:
        _print(as_json, f"draws of request {request}", data)
        return
    _rows(
        f"draws of request {request}",
        [
            {"height": d["height"], "seed": d["seed"][:18] + "...",
             "stored": len(d["stored"]), "matches": d["matches"]}
            for d in data["draws"]
        ],
    )  # fmt: skip


# ------------------------------------------------------------- loans


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


@loan_app.command("repay")
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
        args = {"loan": loan, "amount": _units(ctx, amount)}
        _send(ctx, signer, "loans", "repay", args, as_json)
        return
    data = _query(ctx, "loans_get", loan=loan)
    if data is None:
        raise WalletError(f"loan {loan}: not found")
    if data["status"] != "active":
        raise WalletError(f"loan {loan} is {data['status']}: nothing to pay")
    owed_now = int(data["owed_now"])
    ceiling = settle_ceiling(int(data["outstanding"]), int(data["rate_bps"]), owed_now)
    shown = {
        "loan": str(loan),
        "max_amount": str(ceiling),
        "owed now": f"{owed_now} (at block time {data['time']}; what is owed when the "
        "call runs is paid, up to max_amount)",
    }
    args = {"loan": loan, "max_amount": ceiling}
    _send(ctx, signer, "loans", "settle", args, as_json, shown)


@loan_app.command("extend")
@guarded
def loan_extend(ctx: typer.Context, signer: Signer, loan: int, seconds: int,
                as_json: JsonOut = False) -> None:  # fmt: skip
    """L5: a reviewer votes to move the due dates by SECONDS (all must agree)."""
    _send(ctx, signer, "loans", "extend", {"loan": loan, "seconds": seconds}, as_json)


@loan_app.command("write-off")
@guarded
def loan_write_off(ctx: typer.Context, signer: Signer, loan: int,
                   as_json: JsonOut = False) -> None:  # fmt: skip
    """L6: vote to write off a loan late for default_after."""
    _send(ctx, signer, "loans", "vote_writeoff", {"loan": loan}, as_json)


@loan_app.command("show")
@guarded
def loan_show(ctx: typer.Context, loan: int, as_json: JsonOut = False) -> None:
    """A loan with what is owed now and whether it is late (loans_get)."""
    _print(as_json, f"loan {loan}", _query(ctx, "loans_get", loan=loan))


@loan_app.command("schedule")
@guarded
def loan_schedule(ctx: typer.Context, loan: int, as_json: JsonOut = False) -> None:
    """L2: the repayment schedule (loans_schedule)."""
    _print(as_json, f"schedule of loan {loan}", _query(ctx, "loans_schedule", loan=loan))
