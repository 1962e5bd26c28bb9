"""``credichain wallet``: keys in an encrypted keystore, transfers, signing, submitting.

Theory of operation
-------------------
The keystore is a directory (``~/.credichain/wallet``, or ``--keystore``, or
``CREDICHAIN_KEYSTORE``) of key files ``<name>.json`` written by
``ledger.keyfile`` (Argon2id + SecretBox, mode 0600). The passphrase comes
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
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import trio
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger.codec import INT_MAX
from ledger.crypto import AddressError, Keypair, decode_address, encode_address
from ledger.keyfile import KeyfileError, load_keyfile, read_keyfile_document, save_keyfile
from ledger.types import Call, Extrinsic
from rpc.client import RpcClient, RpcConnectionError, WsClient
from rpc.errors import RpcError

DEFAULT_KEYSTORE: Final = Path("~/.credichain/wallet")
DEFAULT_RPC: Final = "http://127.0.0.1:9944"
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

app = typer.Typer(
    help="Keys, balances and transfers: an encrypted keystore and a JSON-RPC client.",
    no_args_is_help=True,
)
err = Console(stderr=True)

Keystore = Annotated[
    Path,
    typer.Option(
        "--keystore", envvar="CREDICHAIN_KEYSTORE", help="keystore directory", show_default=True
    ),
]
RpcUrl = Annotated[str, typer.Option("--rpc", envvar="CREDICHAIN_RPC", help="node RPC URL")]
JsonOut = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="sign without asking for confirmation")]
Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="wait until finalized")]
Timeout = Annotated[float, typer.Option("--timeout", help="seconds to wait for finalization")]
AllowLocalnet = Annotated[
    bool, typer.Option("--localnet-keys", help="accept unencrypted localnet key files")
]


class WalletError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, sort_keys=True))
    else:
        typer.echo(text)


# ------------------------------------------------------------- amounts


def parse_amount(text: str, decimals: int) -> int:
    """``"12.5"`` with 6 decimals -> 12_500_000 minor units; refuses what is not exact."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise WalletError(f"amount {text!r} is not a number") from None
    if not value.is_finite():
        raise WalletError(f"amount {text!r} is not a finite number")
    with localcontext() as ctx:
        ctx.prec = 200
        minor = value.scaleb(decimals)
        if minor != minor.to_integral_value():
            raise WalletError(f"amount {text!r} has more than {decimals} decimals")
    units = int(minor)
    if units <= 0:
        raise WalletError(f"amount {text!r} must be positive")
    if units > INT_MAX:
        raise WalletError(f"amount {text!r} is too large")
    return units


def format_amount(units: int, decimals: int, symbol: str) -> str:
    whole, frac = divmod(units, 10**decimals)
    text = f"{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")
    return f"{text} {symbol}"


# ------------------------------------------------------------- keystore


def keystore_dir(path: Path) -> Path:
    return path.expanduser()


def key_path(keystore: Path, name: str) -> Path:
    if not NAME_PATTERN.match(name):
        raise WalletError(f"key name {name!r}: use 1-64 letters, digits, '-' or '_'")
    return keystore_dir(keystore) / f"{name}.json"


def passphrase(confirm: bool) -> str:
    from_env = os.environ.get("CREDICHAIN_PASSPHRASE")
    if from_env:
        return from_env
    entered: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    return entered


def load_key(keystore: Path, name: str, allow_localnet: bool) -> Keypair:
    path = key_path(keystore, name)
    if not path.exists():
        raise WalletError(f"no key named {name!r} in {keystore_dir(keystore)}")
    document = read_keyfile_document(path)
    secret = None if document.get("localnet") is True else passphrase(confirm=False)
    return load_keyfile(path, secret, allow_localnet=allow_localnet)


def resolve_account(keystore: Path, who: str, hrp: str) -> bytes:
    """A keystore name or an address (bech32m or 0x hex) as a 32-byte account id."""
    path = keystore_dir(keystore) / f"{who}.json"
    if NAME_PATTERN.match(who) and path.exists():
        return bytes.fromhex(str(read_keyfile_document(path)["public_key"])[2:])
    try:
        return decode_address(who, hrp)
    except AddressError as exc:
        raise WalletError(
            f"{who!r} is neither a key in the keystore nor an address: {exc}"
        ) from None


def store_key(keystore: Path, name: str, key: Keypair, localnet: bool, hrp: str) -> Path:
    path = key_path(keystore, name)
    if path.exists():
        raise WalletError(f"a key named {name!r} already exists in {keystore_dir(keystore)}")
    secret = None if localnet else passphrase(confirm=True)
    return save_keyfile(path, key, secret, localnet=localnet, hrp=hrp)


# ------------------------------------------------------------- chain access


def http_to_ws(url: str) -> str:
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    if url.startswith("ws://"):
        return url
    raise WalletError(f"waiting needs a plain http:// or ws:// RPC URL, got {url!r}")


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
        raise WalletError(f"not finalized within {timeout:g} s (hash 0x{digest.hex()})") from None
    result: dict[str, Any] = {"hash": "0x" + digest.hex(), "status": last}
    if isinstance(last, dict) and "finalized" in last:
        result["status"] = "finalized"
        receipt = client.receipt(digest)
        if receipt is not None:
            result.update(
                blockHash=receipt["blockHash"],
                height=receipt["height"],
                success=receipt["success"],
                error=receipt["error"],
                events=receipt["events"],
            )
    return result


def describe_outcome(result: dict[str, Any]) -> str:
    lines = [f"extrinsic {result['hash']}: {result['status']}"]
    if "height" in result:
        lines.append(f"  block #{result['height']} {result['blockHash']}")
        if result["success"]:
            lines.append("  success")
        else:
            error = result["error"] or {}
            rule = f" (rule {error.get('rule')})" if error.get("rule") else ""
            lines.append(
                f"  FAILED: {error.get('pallet')}.{error.get('code')}{rule}: {error.get('message')}"
            )
    return "\n".join(lines)


def guarded(fn: Any) -> Any:
    """Turn expected failures into one red line and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (WalletError, KeyfileError, AddressError, RpcConnectionError) as exc:
            fail(str(exc))
        except RpcError as exc:
            fail(f"the node refused: {exc}")

    return wrapper


# ------------------------------------------------------------- commands


@app.command("new")
@guarded
def new_key(
    name: Annotated[str, typer.Argument(help="name of the key in the keystore")],
    keystore: Keystore = DEFAULT_KEYSTORE,
    hrp: Annotated[str, typer.Option(help="address prefix of the chain")] = "cc",
    localnet: Annotated[
        bool, typer.Option("--localnet", help="store unencrypted (local test networks only)")
    ] = False,
    as_json: JsonOut = False,
) -> None:
    """Generate a new key and store it encrypted."""
    key = Keypair.generate()
    path = store_key(keystore, name, key, localnet, hrp)
    address = encode_address(key.public, hrp)
    emit(as_json, {"name": name, "address": address, "file": str(path)}, f"{name}: {address}")


@app.command("import")
@guarded
def import_key(
    name: Annotated[str, typer.Argument(help="name of the key in the keystore")],
    keystore: Keystore = DEFAULT_KEYSTORE,
    dev: Annotated[
        str | None, typer.Option(help="a localnet dev account (alice, bob...) instead of a seed")
    ] = None,
    hrp: Annotated[str, typer.Option(help="address prefix of the chain")] = "cc",
    localnet: Annotated[
        bool, typer.Option("--localnet", help="store unencrypted (local test networks only)")
    ] = False,
    as_json: JsonOut = False,
) -> None:
    """Import a 32-byte seed (asked for, hidden; or CREDICHAIN_SEED) or a dev account."""
    if dev is not None:
        key = Keypair.dev(dev)
    else:
        text = os.environ.get("CREDICHAIN_SEED") or typer.prompt("Seed (hex)", hide_input=True)
        try:
            key = Keypair.from_seed(bytes.fromhex(text.strip().removeprefix("0x")))
        except ValueError as exc:
            raise WalletError(f"the seed must be 64 hex digits: {exc}") from None
    path = store_key(keystore, name, key, localnet, hrp)
    address = encode_address(key.public, hrp)
    emit(as_json, {"name": name, "address": address, "file": str(path)}, f"{name}: {address}")


@app.command("list")
@guarded
def list_keys(keystore: Keystore = DEFAULT_KEYSTORE, as_json: JsonOut = False) -> None:
    """The keys in the keystore with their addresses."""
    folder = keystore_dir(keystore)
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            document = read_keyfile_document(path)
        except KeyfileError as exc:
            err.print(f"[yellow]skipping[/yellow] {exc}", highlight=False)
            continue
        rows.append(
            {
                "name": path.stem,
                "address": document.get("address"),
                "encrypted": document.get("localnet") is not True,
            }
        )
    if as_json:
        typer.echo(json.dumps({"keys": rows}, sort_keys=True))
        return
    table = Table("name", "address", "encrypted")
    for row in rows:
        table.add_row(str(row["name"]), str(row["address"]), "yes" if row["encrypted"] else "NO")
    Console().print(table)


@app.command("address")
@guarded
def address(
    name: str,
    keystore: Keystore = DEFAULT_KEYSTORE,
    hrp: Annotated[str | None, typer.Option(help="re-encode for this prefix")] = None,
    as_json: JsonOut = False,
) -> None:
    """The address of a key."""
    document = read_keyfile_document(key_path(keystore, name))
    text = str(document["address"])
    if hrp is not None:
        text = encode_address(bytes.fromhex(str(document["public_key"])[2:]), hrp)
    emit(as_json, {"name": name, "address": text}, text)


@app.command("balance")
@guarded
def balance(
    who: Annotated[str, typer.Argument(help="key name or address")],
    keystore: Keystore = DEFAULT_KEYSTORE,
    rpc: RpcUrl = DEFAULT_RPC,
    as_json: JsonOut = False,
) -> None:
    """Free balance of a key or address (the node's balances_getBalance query)."""
    with RpcClient(rpc) as client:
        props = client.properties()
        account = resolve_account(keystore, who, props.address_prefix)
        text = encode_address(account, props.address_prefix)
        free = client.free_balance(text)
    human = format_amount(free, props.token_decimals, props.token_symbol)
    emit(as_json, {"address": text, "free": str(free), "formatted": human}, f"{text}: {human}")


@app.command("nonce")
@guarded
def nonce(
    who: Annotated[str, typer.Argument(help="key name or address")],
    keystore: Keystore = DEFAULT_KEYSTORE,
    rpc: RpcUrl = DEFAULT_RPC,
    as_json: JsonOut = False,
) -> None:
    """The next nonce of an account, counting its extrinsics in the pool."""
    with RpcClient(rpc) as client:
        hrp = client.properties().address_prefix
        text = encode_address(resolve_account(keystore, who, hrp), hrp)
        value = client.next_index(text)
    emit(as_json, {"address": text, "nonce": value}, str(value))


def _sign(
    client: RpcClient, key: Keypair, call: Call, nonce: int | None, valid_for: int
) -> tuple[Extrinsic, int, bytes]:
    hrp = client.properties().address_prefix
    genesis = client.genesis_hash()
    use_nonce = client.next_index(encode_address(key.public, hrp)) if nonce is None else nonce
    valid_until = client.best_height() + valid_for
    return Extrinsic.create(key, use_nonce, valid_until, call, genesis), valid_until, genesis


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


def _confirm(summary: dict[str, str], yes: bool) -> None:
    table = Table(title="about to sign", show_header=False)
    for field, value in summary.items():
        table.add_row(field, value)
    err.print(table)
    if not yes and not typer.confirm("Sign and submit?", err=True):
        raise WalletError("cancelled; nothing was signed")


@app.command("transfer")
@guarded
def transfer(
    source: Annotated[str, typer.Argument(metavar="FROM", help="key name that signs")],
    dest: Annotated[str, typer.Argument(metavar="TO", help="key name or address")],
    amount: Annotated[str, typer.Argument(help="in token units, e.g. 12.5")],
    keystore: Keystore = DEFAULT_KEYSTORE,
    rpc: RpcUrl = DEFAULT_RPC,
    yes: Yes = False,
    wait: Wait = True,
    timeout: Timeout = 60.0,
    valid_for: Annotated[int, typer.Option(min=1, help="blocks the extrinsic stays valid")] = 256,
    allow_localnet: AllowLocalnet = False,
    as_json: JsonOut = False,
) -> None:
    """Move AMOUNT from FROM to TO: sign balances.transfer, submit, wait for finality."""
    with RpcClient(rpc) as client:
        props = client.properties()
        units = parse_amount(amount, props.token_decimals)
        to = resolve_account(keystore, dest, props.address_prefix)
        key = load_key(keystore, source, allow_localnet)
        call = Call("balances", "transfer", {"amount": units, "dest": to})
        ext, valid_until, genesis = _sign(client, key, call, None, valid_for)
        _confirm(
            {
                "call": "balances.transfer",
                "from": encode_address(key.public, props.address_prefix),
                "to": encode_address(to, props.address_prefix),
                "amount": f"{format_amount(units, props.token_decimals, props.token_symbol)}"
                f" ({units} minor units)",
                "fee": fee_summary(client, ext.encode(), props.token_decimals, props.token_symbol),
                "nonce": str(ext.nonce),
                "valid until": f"block #{valid_until}",
                "chain": f"genesis 0x{genesis.hex()}",
            },
            yes,
        )
        result = submit_and_wait(client, ext.encode(), wait, timeout, quiet=as_json)
    emit(as_json, result, describe_outcome(result))
    if result.get("success") is False:
        raise typer.Exit(1)


def _arg_value(value: Any, hrp: str) -> Any:
    """JSON argument to a call value: 0x-hex and addresses to bytes (see docs/wallet.md)."""
    if isinstance(value, float):
        raise WalletError(f"argument {value!r}: numbers must be integers (minor units)")
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise WalletError(f"argument {value!r} is not valid hex") from None
    if isinstance(value, str) and value.startswith(hrp + "1"):
        try:
            return decode_address(value, hrp)
        except AddressError as exc:
            raise WalletError(f"argument {value!r}: {exc}") from None
    if isinstance(value, list):
        return [_arg_value(v, hrp) for v in value]
    if isinstance(value, dict):
        return {str(k): _arg_value(v, hrp) for k, v in value.items()}
    return value


@app.command("sign")
@guarded
def sign(
    source: Annotated[str, typer.Argument(metavar="FROM", help="key name that signs")],
    pallet: str,
    function: str,
    args: Annotated[str, typer.Option("--args", help="call arguments as a JSON object")] = "{}",
    keystore: Keystore = DEFAULT_KEYSTORE,
    rpc: RpcUrl = DEFAULT_RPC,
    nonce_value: Annotated[int | None, typer.Option("--nonce", min=0)] = None,
    valid_for: Annotated[int, typer.Option(min=1)] = 256,
    yes: Yes = False,
    allow_localnet: AllowLocalnet = False,
    as_json: JsonOut = False,
) -> None:
    """Sign any call and print the extrinsic hex (submit it later with `submit`)."""
    try:
        parsed = json.loads(args)
    except ValueError as exc:
        raise WalletError(f"--args is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise WalletError("--args must be a JSON object of argument names to values")
    with RpcClient(rpc) as client:
        props = client.properties()
        hrp = props.address_prefix
        call = Call(pallet, function, _arg_value(parsed, hrp))
        key = load_key(keystore, source, allow_localnet)
        ext, valid_until, genesis = _sign(client, key, call, nonce_value, valid_for)
        fee = fee_summary(client, ext.encode(), props.token_decimals, props.token_symbol)
    _confirm(
        {
            "call": f"{pallet}.{function}",
            "args": args,
            "signer": encode_address(key.public, hrp),
            "fee": fee,
            "nonce": str(ext.nonce),
            "valid until": f"block #{valid_until}",
            "chain": f"genesis 0x{genesis.hex()}",
        },
        yes,
    )
    encoded = "0x" + ext.encode().hex()
    emit(as_json, {"extrinsic": encoded, "hash": "0x" + ext.hash.hex()}, encoded)


@app.command("submit")
@guarded
def submit(
    extrinsic: Annotated[str, typer.Argument(help="0x-hex of a signed extrinsic")],
    rpc: RpcUrl = DEFAULT_RPC,
    wait: Wait = True,
    timeout: Timeout = 60.0,
    as_json: JsonOut = False,
) -> None:
    """Submit a signed extrinsic and (by default) wait until it is finalized."""
    try:
        raw = bytes.fromhex(extrinsic.strip().removeprefix("0x"))
        Extrinsic.decode(raw)
    except ValueError as exc:
        raise WalletError(f"not a signed extrinsic: {exc}") from None
    with RpcClient(rpc) as client:
        result = submit_and_wait(client, raw, wait, timeout, quiet=as_json)
    emit(as_json, result, describe_outcome(result))
    if result.get("success") is False:
        raise typer.Exit(1)


@app.command("watch")
@guarded
def watch(
    extrinsic_hash: Annotated[str, typer.Argument(help="0x-hex extrinsic hash")],
    rpc: RpcUrl = DEFAULT_RPC,
    timeout: Timeout = 60.0,
    as_json: JsonOut = False,
) -> None:
    """Wait until an extrinsic is in a finalized block and print its receipt."""
    try:
        digest = bytes.fromhex(extrinsic_hash.removeprefix("0x"))
    except ValueError:
        raise WalletError("the hash must be 0x + 64 hex digits") from None
    if len(digest) != 32:
        raise WalletError("the hash must be 0x + 64 hex digits")
    receipt = None
    with RpcClient(rpc) as client, err.status("waiting for the receipt", spinner="dots"):
        end = time.monotonic() + timeout
        while receipt is None and time.monotonic() < end:
            receipt = client.receipt(digest)
            if receipt is None:
                time.sleep(0.2)
    if receipt is None:
        raise WalletError(f"no receipt for 0x{digest.hex()} within {timeout:g} s")
    result = {"hash": "0x" + digest.hex(), "status": "finalized", **receipt}
    emit(as_json, result, describe_outcome(result))
