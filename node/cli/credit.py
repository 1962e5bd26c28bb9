"""``credichain credit``: credit requests (C1-C8): submit, co-sign, review, amend.

Theory of operation
-------------------
A command group with the shared options before the command
(``credichain credit --rpc URL submit alice ...``, see ``node.cli.common``).
A transaction command builds one ``credit`` call and signs it through
``common.send``. A borrower submits a request (C1) and the co-borrowers sign
it (C2); funders endorse it (C5); the drawn reviewers declare conflicts (C7)
and review it (C8). Queries call ``credit_getRequest``,
``credit_listRequests`` and ``credit_redraw`` and print tables, or the raw
JSON with ``--json``.

Texts and documents stay off chain (F10): ``submit`` and ``amend`` first put
each text (``--what``, ``--good``, ``--bad``, ``--why``) and each
``--document`` file on the node with ``documents_put`` (it gossips them to
the validators), check that the node named each by the blake2b-256 of its
bytes, and sign only the hashes. ``show`` then reads each back with
``documents_get``: the text, or ``redacted`` once it was purged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

import typer

from ledger.crypto import blake2b256
from node.cli import common
from node.cli.common import JsonOut, Reason, Signer, guarded
from pallets.credit.storage import STATUSES, VERDICTS
from pallets.funds.storage import PURPOSES
from pallets.governance.allowlist import encode_call

credit_app = common.group("Credit requests: submit, sign, review.")

# The request's texts, by the CLI's option names (F10: each is put off chain, its hash signed).
TEXT_FIELDS: Final = (
    ("what", "what_hash"),
    ("good", "repayment_good_hash"),
    ("bad", "repayment_bad_hash"),
    ("why", "trust_reasons_hash"),
)


def _put(client: Any, content: bytes, what: str) -> bytes:
    """Put ``content`` on the node (documents_put); its hash, checked against ours."""
    try:
        params = {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        params = {"data": "0x" + content.hex()}
    answer = client.call_named("documents_put", **params)
    digest = blake2b256(content)
    if answer["hash"] != "0x" + digest.hex():
        raise common.CliError(f"the node named {what} {answer['hash']}, not 0x{digest.hex()}")
    return digest


def _document(client: Any, given: str) -> bytes:
    """``--document``: a 0x hash (already stored) as is, or a file, put on the node."""
    if given.startswith("0x"):
        return common.parse_hash(given)
    path = Path(given).expanduser()
    if not path.is_file():
        raise common.CliError(f"--document {given!r} is neither a 0x hash nor a readable file")
    return _put(client, path.read_bytes(), f"document {given}")


def _texts(ctx: typer.Context, texts: dict[str, str], documents: list[str]) -> dict[str, Any]:
    """Put the texts and documents on the node; the call's hash arguments (F10)."""
    with common.connect(common.options(ctx).rpc) as client:
        args: dict[str, Any] = {
            field: _put(client, texts[option].encode("utf-8"), f"--{option}")
            for option, field in TEXT_FIELDS
        }
        args["documents"] = [_document(client, d) for d in documents]
    return args


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
    me = common.account_id(ctx, signer)
    args = {
        "fund": fund,
        "borrowers": [me, *(common.account_id(ctx, b) for b in borrower or [])],
        "amount": common.units(ctx, amount),
        "purpose": purpose,
        "recipient": me if recipient is None else common.account_id(ctx, recipient),
        "term": term,
        "installments": installments,
        **_texts(ctx, {"what": what, "good": good, "bad": bad, "why": why}, document or []),
        "providers": [common.account_id(ctx, p) for p in provider or []],
    }
    common.send(ctx, signer, "credit", "submit", args, as_json)


def _request_call(name: str, doc: str) -> None:
    def command(ctx: typer.Context, signer: Signer, request: int, as_json: JsonOut = False) -> None:
        common.send(ctx, signer, "credit", name, {"request": request}, as_json)

    command.__doc__ = doc
    credit_app.command(name)(guarded(command))


_request_call("sign", "C2: a co-borrower signs the request.")
_request_call("endorse", "C5: a funder vouches for the request on chain.")
_request_call("withdraw", "The submitter withdraws an open request.")
_request_call("recuse", "C7: a drawn reviewer steps down; another is drawn in their place.")


@credit_app.command("conflict")
@guarded
def credit_conflict(ctx: typer.Context, signer: Signer, request: int,
                    reason: Reason = common.ZERO_HASH,
                    as_json: JsonOut = False) -> None:  # fmt: skip
    """C7: a reviewer (or, before the draw, a funder) declares a conflict of interest."""
    args = {"request": request, "reason_hash": common.parse_hash(reason)}
    common.send(ctx, signer, "credit", "declare_conflict", args, as_json)


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
    args = {"request": request, "reviewer": common.account_id(ctx, reviewer), "accept": accept}
    common.send(ctx, signer, "credit", "answer_conflict", args, as_json)


@credit_app.command("review")
@guarded
def credit_review(
    ctx: typer.Context,
    signer: Signer,
    request: int,
    verdict: Annotated[str, typer.Argument(help=" | ".join(VERDICTS))],
    conclusions: Annotated[str, typer.Option(help="0x hash or file of the conclusions")] = (
        common.ZERO_HASH
    ),
    as_json: JsonOut = False,
) -> None:
    """C8: approve, decline or ask for improvements."""
    if verdict not in VERDICTS:
        raise common.CliError(f"verdict must be one of {', '.join(VERDICTS)}")
    args = {
        "request": request,
        "verdict": verdict,
        "conclusions_hash": common.parse_hash(conclusions),
    }
    common.send(ctx, signer, "credit", "review", args, as_json)


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
        **_texts(ctx, {"what": what, "good": good, "bad": bad, "why": why}, document or []),
    }
    common.send(ctx, signer, "credit", "amend", args, as_json)


@credit_app.command("show")
@guarded
def credit_show(ctx: typer.Context, request: int, as_json: JsonOut = False) -> None:
    """A request with its draw, verdicts and approval record (credit_getRequest).

    Then its texts and documents as the node has them (documents_get, F10):
    the text, a file's size, ``redacted`` after a purge, or ``unknown``.
    """
    common.show(ctx, as_json, f"request {request}", "credit_getRequest", request=request)
    if as_json:
        return
    with common.connect(common.options(ctx).rpc) as client:
        found = client.call_named("credit_getRequest", request=request)
        named = [(field.removesuffix("_hash"), found[field]) for _, field in TEXT_FIELDS]
        named += [(f"document {i}", h) for i, h in enumerate(found["documents"])]
        rows = [
            {"field": name, **_shown(client.call_named("documents_get", hash=h))}
            for name, h in named
        ]
    common.print_rows(f"texts and documents of request {request} (off chain)", rows)


def _shown(answer: dict[str, Any]) -> dict[str, str]:
    """One row of ``credit show``'s texts: the text, or what became of it."""
    status = answer["status"]
    if status == "available":
        text = answer["text"] if answer["text"] is not None else f"(file, {answer['size']} bytes)"
    elif status == "redacted":
        text = f"redacted (purged by {answer['purgedBy']})"
    else:
        text = "unknown to this node"
    return {"hash": answer["hash"][:18] + "...", "text": text}


@credit_app.command("purge-document")
@guarded
def credit_purge_document(
    ctx: typer.Context,
    signer: Signer,
    document: Annotated[str, typer.Argument(metavar="HASH", help="0x + 64 hex digits")],
    as_json: JsonOut = False,
) -> None:
    """F10: propose to governance that a document be erased from every node.

    Signs governance.propose(credit.purge_document(HASH)); once the proposal
    passes, every node deletes the document and refuses it (it shows as
    redacted). One node's operator can erase it at once with
    `credichain node purge-document`.
    """
    digest = common.parse_hash(document) if document.startswith("0x") else None
    if digest is None:
        raise common.CliError(f"HASH must be 0x and 64 hex digits, got {document!r}")
    call = encode_call("credit", "purge_document", {"document": digest})
    shown = {"proposal": f"credit.purge_document(document=0x{digest.hex()})",
             "voted on": "the next round"}  # fmt: skip
    common.send(ctx, signer, "governance", "propose", {"call": call}, as_json, shown)


@credit_app.command("list")
@guarded
def credit_list(ctx: typer.Context, fund: int,
                status: Annotated[str | None, typer.Option(help=" | ".join(STATUSES))] = None,
                mine: Annotated[str | None, typer.Option(
                    "--mine", help="only requests submitted by this key name or address")] = None,
                as_json: JsonOut = False) -> None:  # fmt: skip
    """A fund's requests (credit_listRequests)."""
    params: dict[str, Any] = {"fund": fund} if status is None else {"fund": fund, "status": status}
    if mine is None:
        common.show(ctx, as_json, f"requests of fund {fund}", "credit_listRequests", **params)
        return
    with common.connect(common.options(ctx).rpc) as client:
        me = common.resolve_address(client, common.keystore(ctx), mine)
        rows = [
            r for r in client.call_named("credit_listRequests", **params) if r["submitter"] == me
        ]
    shown = rows if as_json else common.humane(ctx, "credit_listRequests", rows)
    common.print_data(as_json, f"requests of fund {fund} submitted by {mine}", shown)


@credit_app.command("redraw")
@guarded
def credit_redraw(ctx: typer.Context, request: int, as_json: JsonOut = False) -> None:
    """C6: re-run the reviewer draws from their stored seeds and compare (credit_redraw)."""
    data = common.query(ctx, "credit_redraw", request=request)
    if data is None or as_json:
        common.print_data(as_json, f"draws of request {request}", data)
        return
    data = common.humane(ctx, "credit_redraw", data)
    common.print_rows(
        f"draws of request {request}",
        [
            {"height": d["height"], "seed": d["seed"][:18] + "...",
             "stored": len(d["stored"]), "matches": d["matches"]}
            for d in data["draws"]
        ],
    )  # fmt: skip
