"""What the command groups of ``credichain`` share: options, RPC, signing, output, errors.

Theory of operation
-------------------
Command-group modules import their plumbing from here, never from each other.
Every group takes the global options before or after its command
(``credichain fund --yes join bob 0`` or ``credichain fund join bob 0
--yes``): ``group`` (node.cli.options) makes such an app; a command reads them
with ``options(ctx)`` and its keystore with ``keystore(ctx)``. Every JSON-RPC client comes
from ``connect`` (tests replace this module's ``RpcClient``). ``send`` prints
exactly what will be signed, asks unless ``--yes``, signs, submits, follows it
to finalization and reports the receipt (exit 1 if it failed on chain).
Tables and summaries show amounts, times and accounts in human units through
``node.cli.display`` (``show`` runs a query and prints its answer so);
``--json`` prints the node's JSON unchanged.
``guarded`` turns a ``CliError`` (or a key file, address or RPC error) into
one red line and exit 1; the commands that do not sign exit 2 on usage errors
(``usage_error``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import trio
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ledger.codec import INT_MAX
from ledger.crypto import AddressError, Keypair, blake2b256, decode_address, encode_address
from ledger.keyfile import KeyfileError, load_keyfile, read_keyfile_document, save_keyfile
from ledger.types import Call, Extrinsic
from node.cli.display import View, format_amount, print_whole, result_type, rows, runtime, table
from node.cli.keystore import LEGACY_KEYSTORE, Keystore
from node.cli.options import DEFAULT_RPC as DEFAULT_RPC
from node.cli.options import JsonOut as JsonOut
from node.cli.options import KeystoreOption as KeystoreOption
from node.cli.options import LocalnetKeysOption as LocalnetKeysOption
from node.cli.options import LocalTimeOption as LocalTimeOption
from node.cli.options import Options as Options
from node.cli.options import RpcOption as RpcOption
from node.cli.options import TimeoutOption as TimeoutOption
from node.cli.options import WaitOption as WaitOption
from node.cli.options import YesOption as YesOption
from node.cli.options import group as group
from node.cli.options import options as options
from node.daemon.config import NodeConfig, render_config
from node.daemon.service import NodePaths
from pallets.support.argtypes import ACCOUNT
from rpc.client import ChainProperties, RpcClient, RpcConnectionError, WsClient
from rpc.errors import RpcError

DEFAULT_KEYSTORE: Final = LEGACY_KEYSTORE  # before keystores were per chain
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ZERO_HASH: Final = "0x" + "00" * 32

out = Console()
err = Console(stderr=True)

Reason = Annotated[str, typer.Option("--reason", help="0x hash or file of the reasons")]
Signer = Annotated[str, typer.Argument(metavar="KEY", help="keystore key that signs")]


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


# ------------------------------------------------------------- errors and output


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def exit_error(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` in red on stderr; return the ``typer.Exit`` to raise."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def usage_error(message: str) -> typer.Exit:
    """``error: message`` in red; exit status 2: nothing was done."""
    return exit_error(f"error: {message}")


def guarded(fn: Any) -> Any:
    """Turn expected failures into one red line and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (CliError, KeyfileError, AddressError, RpcConnectionError) as exc:
            fail(str(exc))
        except RpcError as exc:
            fail(f"the node refused: {exc}")

    return wrapper


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, sort_keys=True))
    else:
        typer.echo(text)


def print_rows(title: str, items: list[dict[str, Any]]) -> None:
    print_whole(out, rows(title, items))


def print_data(as_json: bool, title: str, data: Any) -> None:
    """A query's answer: JSON with ``--json``, else a table (a list: one row per item)."""
    if data is None:
        raise CliError(f"{title}: not found")
    if as_json:
        typer.echo(json.dumps(data, sort_keys=True))
    elif isinstance(data, list):
        print_rows(title, data)
    else:
        print_whole(out, table(title, data))


# ------------------------------------------------------------- values typed by people


def parse_amount(text: str, decimals: int) -> int:
    """``"12.5"`` with 6 decimals -> 12_500_000 minor units; refuses what is not exact.

    The one parser of amounts typed by people (arguments, options, prompts)."""
    if "," in text:
        raise CliError(f"amount {text!r}: write it without separators, '.' before decimals")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CliError(f"amount {text!r} is not a number") from None
    if not value.is_finite():
        raise CliError(f"amount {text!r} is not a finite number")
    with localcontext() as ctx:
        ctx.prec = 200
        minor = value.scaleb(decimals)
        if minor != minor.to_integral_value():
            raise CliError(f"amount {text!r} has more than {decimals} decimals")
    units = int(minor)
    if units <= 0:
        raise CliError(f"amount {text!r} must be positive")
    if units > INT_MAX:
        raise CliError(f"amount {text!r} is too large")
    return units


def parse_hash(text: str) -> bytes:
    """``0x`` + 64 hex digits, or a file whose blake2b-256 is taken."""
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raise CliError(f"hash {text!r} is not hex") from None
        if len(raw) != 32:
            raise CliError(f"hash {text!r} must be 32 bytes, got {len(raw)}")
        return raw
    path = Path(text).expanduser()
    if not path.is_file():
        raise CliError(f"{text!r} is neither a 0x hash nor a readable file")
    return blake2b256(path.read_bytes())


# ------------------------------------------------------------- keystore


def key_path(keystore: Path, name: str) -> Path:
    """Where the key ``name`` is written in the folder ``keystore`` (the name checked)."""
    check_name(name)
    return keystore.expanduser() / f"{name}.json"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise CliError(f"key name {name!r}: use 1-64 letters, digits, '-' or '_'")
    return name


def passphrase(confirm: bool) -> str:
    from_env = os.environ.get("CREDICHAIN_PASSPHRASE")
    if from_env:
        return from_env
    entered: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    return entered


def key_file(keys: Keystore, name: str) -> Path:
    """The file of the key ``name`` (the chain's folder, else the old shared one)."""
    found = keys.find(check_name(name))
    if found is None:
        raise CliError(f"no key named {name!r} in {keys.where}")
    return found


def load_key(keys: Keystore, name: str, allow_localnet: bool) -> Keypair:
    path = key_file(keys, name)
    document = read_keyfile_document(path)
    secret = None if document.get("localnet") is True else passphrase(confirm=False)
    return load_keyfile(path, secret, allow_localnet=allow_localnet)


def resolve_account(keys: Keystore, who: str, hrp: str) -> bytes:
    """A keystore name or an address (bech32m or 0x hex) as a 32-byte account id."""
    public = keys.public_key(who) if NAME_PATTERN.match(who) else None
    if public is not None:
        return public
    try:
        return decode_address(who, hrp)
    except AddressError as exc:
        raise CliError(f"{who!r} is neither a key in the keystore nor an address: {exc}") from None


def resolve_address(client: RpcClient, keys: Keystore, who: str) -> str:
    """A keystore name or an address, printed as the chain's bech32m address."""
    hrp = client.properties().address_prefix
    return encode_address(resolve_account(keys, who, hrp), hrp)


def keystore(ctx: typer.Context) -> Keystore:
    """This command's keystore: ``--keystore DIR`` exactly, else the chain's own folder.

    The chain is known by its genesis hash, asked of the node (``--rpc``);
    keys of the old shared folder are still found (node.cli.keystore)."""
    found = ctx.meta.get("credichain.keystore")
    if isinstance(found, Keystore):
        return found
    opts = options(ctx)
    if opts.keystore is not None:
        found = Keystore(opts.keystore)
    else:
        try:
            with connect(opts.rpc) as client:
                genesis = client.genesis_hash()
        except (RpcConnectionError, RpcError) as exc:
            raise CliError(
                f"the keystore is per chain and the node at {opts.rpc} does not say which "
                f"chain it is ({exc}): start it, point --rpc at it, or name the keystore "
                "with --keystore DIR"
            ) from None
        found = Keystore.for_chain(genesis, legacy=DEFAULT_KEYSTORE)
    ctx.meta["credichain.keystore"] = found
    return found


# ------------------------------------------------------------- chain access


def connect(url: str) -> RpcClient:
    return RpcClient(url)


def query(ctx: typer.Context, method: str, **params: Any) -> Any:
    with connect(options(ctx).rpc) as client:
        return client.call_named(method, **params)


def view(ctx: typer.Context) -> View:
    """How this command shows values: the chain's token and prefix, the keystore's names."""
    opts = options(ctx)
    with connect(opts.rpc) as client:
        return keystore(ctx).view(client.properties(), opts.local_time)


def show(ctx: typer.Context, as_json: bool, title: str, method: str,
         who: str | None = None, **params: Any) -> None:  # fmt: skip
    """Run the query ``method``; print its JSON with ``--json``, else a table for people.

    ``who``, a key name or an address, is passed as the query's ``address``."""
    opts = options(ctx)
    with connect(opts.rpc) as client:
        if who is not None:
            params["address"] = resolve_address(client, keystore(ctx), who)
        data = client.call_named(method, **params)
        if not as_json and data is not None:
            seen = keystore(ctx).view(client.properties(), opts.local_time)
            data = seen.shown(result_type(method), data)
    print_data(as_json, title, data)


def humane(ctx: typer.Context, method: str, data: Any) -> Any:
    """``method``'s answer in human units, by its declared result type (``View.shown``)."""
    return None if data is None else view(ctx).shown(result_type(method), data)


def account_id(ctx: typer.Context, who: str) -> bytes:
    """A key name or an address typed on the command line, as an account id."""
    with connect(options(ctx).rpc) as client:
        return resolve_account(keystore(ctx), who, client.properties().address_prefix)


def units(ctx: typer.Context, amount: str) -> int:
    """An amount in token units as minor units, with the chain's decimals."""
    with connect(options(ctx).rpc) as client:
        return parse_amount(amount, client.properties().token_decimals)


def http_to_ws(url: str) -> str:
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    if url.startswith("ws://"):
        return url
    raise CliError(f"waiting needs a plain http:// or ws:// RPC URL, got {url!r}")


async def _watch(url: str, extrinsic: bytes, timeout: float, progress: Progress | None) -> Any:
    task = progress.add_task("submitting", total=None) if progress else None
    last: Any = None
    with trio.fail_after(timeout):
        async with (
            WsClient.connect(http_to_ws(url)) as ws,
            ws.submit_and_watch(extrinsic) as statuses,
        ):
            async for status in statuses:
                last = status
                if progress is not None and task is not None:
                    label = status if isinstance(status, str) else next(iter(status))
                    progress.update(task, description=label)
    return last


def submit_and_wait(
    client: RpcClient, extrinsic: bytes, wait: bool, timeout: float, quiet: bool
) -> dict[str, Any]:
    """Submit; optionally follow it to finalization and return its receipt fields."""
    digest = Extrinsic.decode(extrinsic).hash
    if not wait:
        client.submit(extrinsic)
        return {"hash": "0x" + digest.hex(), "status": "submitted"}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=True, disable=quiet) as progress:
            last = trio.run(_watch, client.url, extrinsic, timeout, progress)
    except trio.TooSlowError:
        raise CliError(f"not finalized within {timeout:g} s (hash 0x{digest.hex()})") from None
    result: dict[str, Any] = {"hash": "0x" + digest.hex(), "status": last}
    if isinstance(last, dict) and "finalized" in last:
        result["status"] = "finalized"
        receipt = client.receipt(digest)
        if receipt is not None:
            fields = ("blockHash", "height", "success", "error", "events")
            result.update({field: receipt[field] for field in fields})
    return result


def describe_outcome(result: dict[str, Any], view: View | None = None) -> str:
    """The receipt for people; with a ``view``, the error text in human units."""
    lines = [f"extrinsic {result['hash']}: {result['status']}"]
    if "height" in result:
        lines.append(f"  block #{result['height']} {result['blockHash']}")
        if result["success"]:
            lines.append("  success")
        else:
            error = result["error"] or {}
            rule = f" (rule {error.get('rule')})" if error.get("rule") else ""
            message = str(error.get("message"))
            message = view.message(message) if view is not None else message
            lines.append(f"  FAILED: {error.get('pallet')}.{error.get('code')}{rule}: {message}")
    return "\n".join(lines)


def report_outcome(as_json: bool, result: dict[str, Any], view: View | None = None) -> None:
    """Print what became of a submitted extrinsic; exit status 1 if it failed on chain."""
    emit(as_json, result, describe_outcome(result, view))
    if result.get("success") is False:
        raise typer.Exit(1)


# ------------------------------------------------------------- signing


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed extrinsic and what its signing summary says about it."""

    extrinsic: Extrinsic
    valid_until: int
    genesis: bytes


def sign_call(
    client: RpcClient, key: Keypair, call: Call, nonce: int | None, valid_for: int
) -> Signed:
    hrp = client.properties().address_prefix
    genesis = client.genesis_hash()
    use_nonce = client.next_index(encode_address(key.public, hrp)) if nonce is None else nonce
    valid_until = client.best_height() + valid_for
    return Signed(
        Extrinsic.create(key, use_nonce, valid_until, call, genesis), valid_until, genesis
    )


def fee_summary(client: RpcClient, raw: bytes, decimals: int, symbol: str) -> str:
    """The fee line of a signing summary, from ``payment_queryInfo`` (as Substrate wallets do)."""
    try:
        info = client.call_named("payment_queryInfo", extrinsic="0x" + raw.hex())
        fee = int(info["partialFee"])
    except (RpcError, KeyError, TypeError, ValueError) as exc:
        return f"unknown (the node did not say: {exc})"
    if info.get("coveredByAllowance"):
        return "none: the community allowance covers it (P2)"
    text = f"{format_amount(fee, decimals, symbol)} ({fee} minor units)"
    if info.get("canPay") is False:
        text += ": more than the balance, the node will refuse it"
    return text


def signing_summary(client: RpcClient, props: ChainProperties, signed: Signed) -> dict[str, str]:
    """The lines every signing summary ends with: fee, nonce, mortality, chain."""
    raw = signed.extrinsic.encode()
    return {
        "fee": fee_summary(client, raw, props.token_decimals, props.token_symbol),
        "nonce": str(signed.extrinsic.nonce),
        "valid until": f"block #{signed.valid_until}",
        "chain": f"genesis 0x{signed.genesis.hex()}",
    }


def confirm(summary: dict[str, str], yes: bool) -> None:
    print_whole(err, table("about to sign", dict(summary)))
    if not yes and not typer.confirm("Sign and submit?", err=True):
        raise CliError("cancelled; nothing was signed")


def check_affordable(
    client: RpcClient, props: ChainProperties, account: bytes, units: int, signed: Signed
) -> None:
    """Refuse, before anything is sent, a call the balance cannot pay: ``units`` plus the fee.

    ``units`` is what the call itself spends from the free balance (a transfer's
    amount; 0 for a call that spends only its fee). The chain would refuse it
    too (balances.InsufficientBalance, or the pool's CannotPay), but only after
    a submission and a wait for the block; the node's own answers tell us now.
    """
    address = encode_address(account, props.address_prefix)
    raw = "0x" + signed.extrinsic.encode().hex()
    try:
        free = int(client.call_named("balances_getBalance", address=address)["free"])
        info = client.call_named("payment_queryInfo", extrinsic=raw)
        fee = 0 if info.get("coveredByAllowance") else int(info["partialFee"])
    except (RpcError, KeyError, TypeError, ValueError):
        return  # a node that cannot say: the chain still refuses what cannot be paid
    if units + fee > free:

        def show(value: int) -> str:
            return format_amount(value, props.token_decimals, props.token_symbol)

        raise CliError(
            f"the balance of {address} is {show(free)}: less than "
            + (f"the amount {show(units)} plus " if units else "")
            + f"the fee {show(fee)}; nothing was sent"
        )


def send(ctx: typer.Context, signer: str, pallet: str, function: str, args: dict[str, Any],
         as_json: bool, shown: dict[str, str] | None = None) -> None:  # fmt: skip
    """Sign ``pallet.function(args)`` with ``signer``, confirm, submit, report.

    ``shown`` replaces the arguments in the summary when they need spelling out."""
    opts = options(ctx)
    with connect(opts.rpc) as client:
        props = client.properties()
        keys = keystore(ctx)
        seen = keys.view(props, opts.local_time)
        key = load_key(keys, signer, opts.localnet_keys)
        signed = sign_call(client, key, Call(pallet, function, args), None, 256)
        check_affordable(client, props, key.public, 0, signed)
        call = runtime().call(pallet, function)
        declared = dict(call.args) if call is not None else {}
        arguments = shown or {k: seen.argument(declared.get(k), v) for k, v in args.items()}
        summary = {
            "call": f"{pallet}.{function}",
            **arguments,
            "signer": seen.argument(ACCOUNT, key.public),
            **signing_summary(client, props, signed),
        }
        confirm(summary, opts.yes)
        result = submit_and_wait(
            client, signed.extrinsic.encode(), opts.wait, opts.timeout, as_json
        )
    report_outcome(as_json, result, seen)


# ------------------------------------------------------------- node homes


def init_home(
    home: Path,
    *,
    genesis_file: Path | None,
    validator_key: Keypair | None,
    config: NodeConfig,
    localnet: bool,
    passphrase: str | None,
) -> NodePaths:
    """Create ``home`` with its config, genesis and keys (``node init`` and ``localnet``)."""
    paths = NodePaths(home)
    home.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(render_config(config))
    if genesis_file is not None:
        shutil.copyfile(genesis_file, paths.genesis)
    secret = None if localnet else passphrase
    keys = [(paths.node_key, Keypair.generate(), "node")]
    if validator_key is not None:
        keys.append((paths.validator_key, validator_key, "validator"))
    for path, key, kind in keys:
        save_keyfile(path, key, secret, localnet=localnet, kind=kind, overwrite=True)
    return paths
