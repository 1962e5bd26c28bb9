"""``credichain wallet``: keys in an encrypted keystore, transfers, signing, submitting.

Theory of operation
-------------------
The keystore is a directory of key files ``<name>.json`` written by
``ledger.keyfile`` (Argon2id + SecretBox, mode 0600): ``--keystore DIR`` (or
``CREDICHAIN_KEYSTORE``), else the chain's own folder
``~/.credichain/keys/<first 8 hex digits of the genesis hash>/``, with the old
shared ``~/.credichain/wallet`` still searched (node.cli.keystore). The passphrase comes
from a hidden prompt or, for scripts, ``CREDICHAIN_PASSPHRASE``.

Everything the wallet asks the chain goes through JSON-RPC (``--rpc``,
default http://127.0.0.1:9944): token symbol and decimals
(``system_properties``), the genesis hash that every signature commits to
(``chain_getBlockHash(0)``), the next nonce (``account_nextIndex``), the
best height for mortality, balances (``balances_getBalance``, registered by
the node from the balances pallet), then submission. Waiting for
finalization uses ``author_submitAndWatchExtrinsic`` over the WebSocket on
the same port and shows each status (ready, in block, finalized).

Amounts are typed in human units ("12.5") and parsed with ``Decimal``, never
a float; more decimals than the token has are refused, not rounded. Before
signing, the wallet prints exactly what it will sign and asks for
confirmation (``--yes`` skips it). ``--json`` prints one JSON object on
stdout and nothing else there.

Reading keys, amounts and the signing flow are in ``node.cli.common``, which
every command group shares; this module holds the wallet's own commands and
``store_key``, the one place where keys are written.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from ledger.crypto import AddressError, decode_address, encode_address
from ledger.keyfile import KeyfileError, read_keyfile_document
from ledger.types import Call, Extrinsic
from node.cli import common, wallet_keys
from node.cli.common import (
    CliError,
    JsonOut,
    check_affordable,
    confirm,
    connect,
    describe_outcome,
    emit,
    err,
    group,
    guarded,
    load_key,
    options,
    out,
    parse_amount,
    report_outcome,
    resolve_account,
    resolve_address,
    sign_call,
    signing_summary,
    submit_and_wait,
)
from node.cli.display import (
    NumberArguments,
    View,
    format_amount,
    inline,
    print_whole,
    rows,
    runtime,
)
from node.cli.wallet_keys import store_key as store_key
from pallets.support.argtypes import ACCOUNT, AMOUNT, ArgType
from rpc.client import RpcClient

app = group("Keys, balances and transfers: an encrypted keystore and a JSON-RPC client.")


for _name, _command in wallet_keys.GUARDED.items():
    app.command(_name)(_command)


@app.command("list")
@guarded
def list_keys(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """The keys in the keystore with their addresses (and those of the old shared folder)."""
    keys = common.keystore(ctx)
    rows = []
    for path, old in keys.files():
        try:
            document = read_keyfile_document(path)
        except KeyfileError as exc:
            err.print(f"[yellow]skipping[/yellow] {exc}", highlight=False)
            continue
        row = {"name": path.stem, "address": document.get("address"),
               "encrypted": document.get("localnet") is not True, "file": str(path)}  # fmt: skip
        rows.append(row | ({"shared": True} if old else {}))
    if as_json:
        typer.echo(json.dumps({"keystore": str(keys.where), "keys": rows}, sort_keys=True))
        return
    table = Table("name", "address", "encrypted", title=str(keys.where))
    for row in rows:
        shared = " (old shared keystore)" if row.get("shared") else ""
        encrypted = "yes" if row["encrypted"] else "NO"
        table.add_row(f"{row['name']}{shared}", str(row["address"]), encrypted)
    print_whole(out, table)  # a pipe or a file gets whole addresses
    if any(row.get("shared") for row in rows):
        note = (f"keys marked (old shared keystore) are in {keys.legacy}, used by every chain;"
                f" they are found, and stay there until moved to {keys.where}")  # fmt: skip
        err.print(note, highlight=False)


@app.command("address")
@guarded
def address(
    ctx: typer.Context,
    name: str,
    hrp: Annotated[str | None, typer.Option(help="re-encode for this prefix")] = None,
    as_json: JsonOut = False,
) -> None:
    """The address of a key."""
    document = read_keyfile_document(common.key_file(common.keystore(ctx), name))
    text = str(document["address"])
    if hrp is not None:
        text = encode_address(bytes.fromhex(str(document["public_key"])[2:]), hrp)
    emit(as_json, {"name": name, "address": text}, text)


@app.command("balance")
@guarded
def balance(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(help="key name or address")],
    as_json: JsonOut = False,
) -> None:
    """Free balance of a key or address (the node's balances_getBalance query)."""
    with connect(options(ctx).rpc) as client:
        props = client.properties()
        text = resolve_address(client, common.keystore(ctx), who)
        free = client.free_balance(text)
    human = format_amount(free, props.token_decimals, props.token_symbol)
    emit(as_json, {"address": text, "free": str(free), "formatted": human}, f"{text}: {human}")


@app.command("nonce")
@guarded
def nonce(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(help="key name or address")],
    as_json: JsonOut = False,
) -> None:
    """The next nonce of an account, counting its extrinsics in the pool."""
    with connect(options(ctx).rpc) as client:
        text = resolve_address(client, common.keystore(ctx), who)
        value = client.next_index(text)
    emit(as_json, {"address": text, "nonce": value}, str(value))


@app.command("transfer", cls=NumberArguments)
@guarded
def transfer(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FROM", help="key name that signs")],
    dest: Annotated[str, typer.Argument(metavar="TO", help="key name or address")],
    amount: Annotated[str, typer.Argument(help="in token units, e.g. 12.5")],
    valid_for: Annotated[int, typer.Option(min=1, help="blocks the extrinsic stays valid")] = 256,
    as_json: JsonOut = False,
) -> None:
    """Move AMOUNT from FROM to TO: sign balances.transfer, submit, wait for finality."""
    opts = options(ctx)
    keys = common.keystore(ctx)
    with connect(opts.rpc) as client:
        props = client.properties()
        units = parse_amount(amount, props.token_decimals)
        to = resolve_account(keys, dest, props.address_prefix)
        key = load_key(keys, source, opts.localnet_keys)
        call = Call("balances", "transfer", {"amount": units, "dest": to})
        signed = sign_call(client, key, call, None, valid_for)
        check_affordable(client, props, key.public, units, signed)
        seen = keys.view(props, opts.local_time)
        confirm(
            {
                "call": "balances.transfer",
                "from": seen.argument(ACCOUNT, key.public),
                "to": seen.argument(ACCOUNT, to),
                "amount": seen.argument(AMOUNT, units),
                **signing_summary(client, props, signed),
            },
            opts.yes,
        )
        raw = signed.extrinsic.encode()
        result = submit_and_wait(client, raw, opts.wait, opts.timeout, quiet=as_json)
    report_outcome(as_json, result, seen)


def _arg_value(value: Any, hrp: str) -> Any:
    """JSON argument to a call value: 0x-hex and addresses to bytes (see docs/wallet.md)."""
    if isinstance(value, float):
        raise CliError(f"argument {value!r}: numbers must be integers (minor units)")
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise CliError(f"argument {value!r} is not valid hex") from None
    if isinstance(value, str) and value.startswith(hrp + "1"):
        try:
            return decode_address(value, hrp)
        except AddressError as exc:
            raise CliError(f"argument {value!r}: {exc}") from None
    if isinstance(value, list):
        return [_arg_value(v, hrp) for v in value]
    if isinstance(value, dict):
        return {str(k): _arg_value(v, hrp) for k, v in value.items()}
    return value


@app.command("sign")
@guarded
def sign(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FROM", help="key name that signs")],
    pallet: str,
    function: str,
    args: Annotated[str, typer.Option("--args", help="call arguments as a JSON object")] = "{}",
    nonce_value: Annotated[int | None, typer.Option("--nonce", min=0)] = None,
    valid_for: Annotated[int, typer.Option(min=1)] = 256,
    as_json: JsonOut = False,
) -> None:
    """Sign any call and print the extrinsic hex (submit it later with `submit`)."""
    try:
        parsed = json.loads(args)
    except ValueError as exc:
        raise CliError(f"--args is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise CliError("--args must be a JSON object of argument names to values")
    opts = options(ctx)
    with connect(opts.rpc) as client:
        props = client.properties()
        hrp = props.address_prefix
        call = Call(pallet, function, _arg_value(parsed, hrp))
        key = load_key(common.keystore(ctx), source, opts.localnet_keys)
        signed = sign_call(client, key, call, nonce_value, valid_for)
        summary = {
            "call": f"{pallet}.{function}",
            "args": args,
            "signer": encode_address(key.public, hrp),
            **signing_summary(client, props, signed),
        }
    confirm(summary, opts.yes)
    encoded = "0x" + signed.extrinsic.encode().hex()
    emit(as_json, {"extrinsic": encoded, "hash": "0x" + signed.extrinsic.hash.hex()}, encoded)


@app.command("submit")
@guarded
def submit(
    ctx: typer.Context,
    extrinsic: Annotated[str, typer.Argument(help="0x-hex of a signed extrinsic")],
    as_json: JsonOut = False,
) -> None:
    """Submit a signed extrinsic and (by default) wait until it is finalized."""
    try:
        raw = bytes.fromhex(extrinsic.strip().removeprefix("0x"))
        Extrinsic.decode(raw)
    except ValueError as exc:
        raise CliError(f"not a signed extrinsic: {exc}") from None
    opts = options(ctx)
    with connect(opts.rpc) as client:
        seen = common.keystore(ctx).view(client.properties(), opts.local_time)
        result = submit_and_wait(client, raw, opts.wait, opts.timeout, quiet=as_json)
    report_outcome(as_json, result, seen)


@app.command("watch")
@guarded
def watch(
    ctx: typer.Context,
    extrinsic_hash: Annotated[str, typer.Argument(help="0x-hex extrinsic hash")],
    as_json: JsonOut = False,
) -> None:
    """Wait until an extrinsic is in a finalized block and print its receipt."""
    try:
        digest = bytes.fromhex(extrinsic_hash.removeprefix("0x"))
    except ValueError:
        raise CliError("the hash must be 0x + 64 hex digits") from None
    if len(digest) != 32:
        raise CliError("the hash must be 0x + 64 hex digits")
    receipt = None
    timeout = options(ctx).timeout
    with connect(options(ctx).rpc) as client, err.status("waiting for the receipt", spinner="dots"):
        seen = common.keystore(ctx).view(client.properties(), options(ctx).local_time)
        end = time.monotonic() + timeout
        while receipt is None and time.monotonic() < end:
            receipt = client.receipt(digest)
            if receipt is None:
                time.sleep(0.2)
    if receipt is None:
        raise CliError(f"no receipt for 0x{digest.hex()} within {timeout:g} s")
    result = {"hash": "0x" + digest.hex(), "status": "finalized", **receipt}
    emit(as_json, result, describe_outcome(result, seen))


# ------------------------------------------------------------- history (issue 20)

HISTORY_PAGE = 100  # the node's page limit (rpc.history.MAX_LIMIT)


def event_text(view: View, event: dict[str, Any]) -> str:
    """``pallet.Name field=value ...``: a history event in human units and keystore names."""
    pallet, name = str(event.get("pallet")), str(event.get("name"))
    attrs = event.get("attributes") or {}
    declared = runtime().by_name.get(pallet)
    fields: dict[str, ArgType] = {}
    for defined in declared.events if declared is not None else ():
        if defined.name == name:
            fields = dict(defined.fields)
    parts = []
    for key, value in attrs.items():
        kind = fields.get(key)
        if kind == ACCOUNT and isinstance(value, str):
            with contextlib.suppress(AddressError):
                value = encode_address(decode_address(value), view.hrp)
        shown = view.shown(kind, value, key)
        parts.append(f"{key}={inline(shown)}")
    return f"{pallet}.{name}" + (" " + " ".join(parts) if parts else "")


def entry_row(view: View, entry: dict[str, Any]) -> dict[str, str]:
    """One history or statement entry as a table row for people."""
    gained, lost = int(entry["in"]), int(entry["out"])
    if entry.get("extrinsicHash") is None:
        what = "block event"
    else:
        status = (
            "" if entry.get("success") else f" FAILED ({(entry.get('error') or {}).get('code')})"
        )
        signer = view.account(str(entry.get("signer")))
        what = f"{entry.get('call')} by {signer}{status}"
    row = {
        "block": str(entry["height"]),
        "time": view.time(int(entry["timestamp"]) // 1000),
        "what": what,
        "in": view.amount(gained) if gained else "",
        "out": view.amount(lost) if lost else "",
    }
    if "balance" in entry:
        row["balance"] = view.amount(int(entry["balance"]))
    row["events"] = "\n".join(event_text(view, e) for e in entry.get("events") or [])
    return row


def history_pages(
    client: RpcClient, method: str, params: dict[str, Any], limit: int | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Call a history method page by page until ``limit`` entries (all if None).

    The first page's answer (its totals, a statement's opening balance) and every entry.
    """
    entries: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    cursor = None
    while True:
        want = HISTORY_PAGE if limit is None else min(HISTORY_PAGE, limit - len(entries))
        page = client.call_named(method, **params, cursor=cursor, limit=want)
        first = first or page
        entries.extend(page["entries"])
        cursor = page["next"]
        if cursor is None or (limit is not None and len(entries) >= limit):
            return first, entries


@app.command("history")
@guarded
def history(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(metavar="NAME", help="key name or address")],
    limit: Annotated[
        int, typer.Option(min=1, help="at most this many entries (the newest first)")
    ] = 20,
    all_entries: Annotated[bool, typer.Option("--all", help="every entry")] = False,
    oldest_first: Annotated[bool, typer.Option(help="chain order, oldest first")] = False,
    as_json: JsonOut = False,
) -> None:
    """An account's history: what it signed and received, fees, loans, trust (account_history)."""
    opts = options(ctx)
    with connect(opts.rpc) as client:
        text = resolve_address(client, common.keystore(ctx), who)
        params = {"address": text, "order": "asc" if oldest_first else "desc"}
        page, entries = history_pages(
            client, "account_history", params, None if all_entries else limit
        )
        seen = common.keystore(ctx).view(client.properties(), opts.local_time)
    if as_json:
        typer.echo(json.dumps({**page, "entries": entries, "next": None}, sort_keys=True))
        return
    title = (
        f"history of {seen.account(text)}: {len(entries)} of {page['total']} entries "
        f"(indexed to block {page['indexedHeight']})"
    )
    print_whole(out, rows(title, [entry_row(seen, e) for e in entries]))
